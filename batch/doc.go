// Package batch runs prompts through a provider's batch API — Azure
// OpenAI's Global Batch and Data Zone Batch deployments, OpenAI's Batch
// API — at half the price of synchronous calls, on the provider's fleet,
// within 24 hours, against a quota of its own (Azure's enqueued tokens).
//
// It is built the way [database/sql] is: this package knows no provider. A
// provider that has a batch API implements [Provider], an optional
// interface found by type assertion on the provider an [llm.Client] uses
// for a model; its [Service] speaks the wire (files, jobs, one line's
// request serialized by the provider's own serializer, one output line
// decoded by its own parser), and this package does everything else:
//
//   - Submit: build the input files from an iterator of [llm.Job] (the
//     same models, conversations and options as [llm.Client.Process]),
//     streamed to disk and split at the provider's limits, per model and
//     per endpoint ([Endpointer]: chat completions or the Responses API,
//     as a synchronous call of the request would go), upload them, wait
//     until they are processed, create one job each;
//   - Track: [Client.Refresh], [Client.Wait] (polling once a minute by
//     default, with backoff), [Client.Cancel], [Client.Jobs];
//   - Collect: download the output and error files and yield one
//     [Result] per input, keyed by its ID, with a typed error for every
//     request that failed or never ran ([ErrNotRun]).
//
// Every step reads and updates a [State], plain JSON that [WithJournal]
// persists before each request that changes the provider's state. A
// Submit killed at any point and run again with the same State uploads
// no file and creates no job twice: it looks for an upload by its file
// name, and for a job by its input file, when their replies were lost.
//
// Requests for the Responses API (a model whose APISpec is "responses", or
// [llm.WithAPI](llm.APIResponses)) are batched like chat completions, but
// [llm.WithBackground] and [llm.WithPreviousResponse] are refused: a job
// already runs in the background, and its lines, run in no set order,
// cannot continue a stored response. Embeddings have no batch jobs (Azure
// takes none); [Client.Check] reports such a model before anything is
// sent.
//
// The deluge command's "deluge batch" subcommands are built on this
// package; docs/batch.md shows the whole flow, from deploying a Global
// Batch model in Azure AI Foundry to fetching the results.
package batch
