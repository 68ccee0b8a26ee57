package azureharness

import (
	"net/http"

	"github.com/deluge-go/deluge/internal/memnet"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// InMemory serves an emulator configured by opts over in-memory
// connections (package internal/memnet), for tests that run in a
// testing/synctest bubble: the emulator's quotas and latency then run on
// the bubble's fake clock, as does the client's pacing. It returns the
// emulator, its URL (a loopback one, so the provider accepts plain HTTP),
// a client that reaches it, and stop, which ends the emulator's delays and
// shuts it down. Call it, and stop, inside the bubble.
func InMemory(opts ...azuretest.Option) (h *azuretest.Handler, url string, client *http.Client, stop func()) {
	h = azuretest.NewHandler(opts...)
	srv := memnet.NewServer(h)
	return h, srv.URL, srv.Client(), func() {
		h.Close() // end the emulator's delays, so its handlers return
		srv.Close()
	}
}
