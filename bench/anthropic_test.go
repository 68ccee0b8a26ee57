package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// The wire-library decision (see providers/anthropic's documentation and
// docs/benchmarks.md): one Messages API call through deluge (the whole
// path, and the provider alone), through anthropic-sdk-go v2 (retries
// off), and through a hand-written net/http + encoding/json client, against
// the same canned reply served by an in-memory transport, and against the
// emulator over loopback. The runner's anthropic figure interleaves them;
// these are the short form, for profiling one at a time:
//
//	go -C bench test -run '^$' -bench Messages -benchmem .

func benchClaude(b *testing.B, base string, hc func(deluge bool) *http.Client) {
	cs, err := newClaudeClients(base, hc)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cs.close)
	for _, c := range cs.callers {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if got, err := c.call(ctx, claudePrompt); err != nil || got == "" {
					b.Fatal(got, err)
				}
			}
		})
	}
}

func BenchmarkMessagesInMemory(b *testing.B) {
	benchClaude(b, "https://api.anthropic.com", func(bool) *http.Client { return &http.Client{Transport: claudeTransport{}} })
}

func BenchmarkMessagesEmulator(b *testing.B) {
	srv := azuretest.NewServer(azuretest.WithDeployment(claudeModel, ""), azuretest.WithArrivalLog(0))
	b.Cleanup(srv.Close)
	benchClaude(b, srv.URL+"/anthropic", func(bool) *http.Client { return srv.Client() })
}

// TestAnthropicHarness: the four contenders get the same reply, in memory
// and from the emulator, and a short run produces every figure.
func TestAnthropicHarness(t *testing.T) {
	r, err := runAnthropic(context.Background(), overheadParams{rounds: 1, slices: 1, slice: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*anthropicSet{r.InMemory, r.Loopback} {
		if s.RatioVsRaw <= 0 || s.RatioVsSDK <= 0 || s.ProviderRatioVsRaw <= 0 || s.DelugeAllocs <= 0 {
			t.Errorf("missing figures: %+v", s)
		}
	}
	if r.InMemory.BodyBytes != len(claudeBody) {
		t.Errorf("body_bytes %d", r.InMemory.BodyBytes)
	}
}
