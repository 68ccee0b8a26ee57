// Command deluge-soak runs a large batch of prompts through "deluge run"
// against the Azure emulator under injected faults, killing the run
// repeatedly (SIGKILL, and SIGTERM) and resuming it, then checks what a
// user depends on:
//
//   - every prompt's ID has exactly one successful line in the output,
//     and every line is a whole result;
//   - how many replies were paid twice: the emulator counts, per prompt,
//     the 200 responses it sent (what Azure bills); each one beyond the
//     first is a reply paid again. Each is classified by when the first
//     one was sent: still in flight when the run was killed (the server
//     answered a process that no longer exists: unavoidable), or delivered
//     well before the kill and still lost (neither written nor cached:
//     what the engine must prevent);
//   - after a SIGTERM, no prompt that had not been sent yet is sent.
//
// It bounds its own time (-timeout) and stops by itself. Build the deluge
// command first:
//
//	go build -o /tmp/deluge ./cmd/deluge
//	go run ./cmd/deluge-soak -deluge /tmp/deluge -n 100000 -faults 0.2 -kills 20 -terms 5
//
// The figures of docs/reliability.md ("Soak and crash") come from this
// command.
package main
