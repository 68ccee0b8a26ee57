// Package interop holds tests that drive deluge's Azure emulator (and, in
// time, deluge itself) with other projects' official clients, such as
// openai-go's Azure options, to prove both speak the same wire.
//
// It is a module of its own so that those clients stay out of deluge's
// go.mod: a program importing deluge inherits none of them. Run it with
//
//	go -C interop test ./...
package interop
