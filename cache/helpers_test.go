package cache

import (
	"time"

	"github.com/deluge-go/deluge/cache/cachetest"
	"github.com/deluge-go/deluge/internal/clocktest"
	"github.com/deluge-go/deluge/llm"
)

// fullResponse exercises every field a provider may set (see
// cachetest.FullResponse).
func fullResponse() *llm.Response { return cachetest.FullResponse() }

// asHit is what a store returns for a hit on r.
func asHit(r *llm.Response) llm.Response {
	want := *r
	want.Cached = true
	want.Header = nil
	return want
}

func textResponse(text string) *llm.Response { return cachetest.TextResponse(text) }

// fakeClock is a manually advanced clock.
type fakeClock = clocktest.Clock

func newFakeClock() *fakeClock { return clocktest.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) }
