package batch

import (
	"github.com/deluge-go/deluge/llm"
)

// checkRequest refuses the request options a batch line cannot carry,
// whatever the provider: both belong to the Responses API's stored
// responses, which a batch job has no use for.
//
//   - [llm.WithBackground]: a batch job already runs on the provider's
//     fleet, and a line run in the background would leave in the output
//     file a queued response that nothing polls.
//   - [llm.WithPreviousResponse]: the lines of a job run in no set order,
//     when the provider chooses, possibly after the stored response
//     expired; a conversation that continues another must carry it whole.
//
// [llm.WithStore] is sent as given (see docs/batch.md).
func checkRequest(req *llm.Request) *llm.Error {
	s := &req.Sampling
	switch {
	case s.Background:
		return &llm.Error{Code: llm.CodeInvalidRequest, Model: req.Model.ID,
			Message: "llm.WithBackground cannot go in a batch job: the job already runs in the background on the provider's fleet, " +
				"and a background line would leave only a queued response in the output file; leave the option out"}
	case s.PreviousResponseID != "":
		return &llm.Error{Code: llm.CodeInvalidRequest, Model: req.Model.ID,
			Message: "llm.WithPreviousResponse cannot go in a batch job: its lines run in no set order, when the provider chooses, " +
				"and cannot continue a stored response; put the whole conversation in the job, or send it with llm.Client.Process (deluge run)"}
	}
	return nil
}
