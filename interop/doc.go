// Package interop holds tests that drive deluge's Azure emulator, and
// deluge itself, with other projects' official clients, such as openai-go's
// Azure options, to prove both speak the same wire:
//
//   - azure_emulator_test.go: the emulator in-process (azuretest), driven
//     by openai-go on the classic family (its azure options) and on v1 (a
//     plain client, the key as a bearer token) for files, batches,
//     responses, embeddings and models;
//   - emulate_command_test.go: the real command, built from ../cmd/deluge
//     and started as "deluge emulate", driven by openai-go's Azure client
//     (azure.WithEndpoint, azure.WithAPIKey) for chat, streaming, the
//     Responses API and embeddings, and by deluge's own azure-foundry
//     provider through llm.Client on both URL families.
//
// It is a module of its own so that those clients stay out of deluge's
// go.mod: a program importing deluge inherits none of them. Run it with
//
//	go -C interop test ./...
package interop
