// Package deadline hands out per-attempt timeout contexts without a timer
// per attempt.
//
// A timeout per attempt is usually a [context.WithTimeout] per attempt,
// which arms and stops a runtime timer for every request and allocates a
// context, its timer and (once an HTTP client watches it) a done channel
// and a map of children; with hundreds of requests in flight that was the
// engine's largest per-request cost (see docs/benchmarks.md). A batch's
// attempts all derive from the same context, so they can share deadlines
// instead: the attempts that start within one window (a [Windows]th of the
// timeout) share one context whose deadline is the window's start plus the
// timeout plus the window. Each attempt is therefore cancelled no sooner
// than the timeout after it started and no later than the timeout plus a
// window, and a busy batch arms one timer per window instead of one per
// request.
//
// A shared context is not cancelled when its attempt returns, only when
// its window expires or [Shared.Close] is called: anything a provider
// leaves behind that waits for its context to end waits that long
// (net/http leaves nothing: it ends its own per-request context when the
// body is read or closed).
package deadline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Windows is the number of windows per timeout: the most an attempt may
// overrun its timeout, as a fraction of it (1/16, about 6 %).
const Windows = 16

// Shared hands out attempt contexts derived from a parent that expire
// between the timeout and the timeout plus a window after the attempt asks
// for one. It is safe for concurrent use; [Shared.Close] cancels every
// context it handed out.
type Shared struct {
	parent          context.Context
	timeout, window time.Duration
	now             func() time.Time // time.Now; a fake in tests

	cur    atomic.Pointer[window] // the open window, nil before the first
	mu     sync.Mutex             // guards opening windows, live and closed
	live   []*window              // windows whose contexts may not have expired
	closed bool
}

// window is one shared context and the time after which a new attempt may
// no longer use it.
type window struct {
	ctx    context.Context
	cancel context.CancelFunc
	until  time.Time
}

// NewShared returns the deadlines of attempts derived from parent and
// bounded by timeout.
func NewShared(parent context.Context, timeout time.Duration) *Shared {
	return &Shared{
		parent:  parent,
		timeout: timeout,
		window:  max(timeout/Windows, 1),
		now:     time.Now,
	}
}

// Timeout returns the timeout the contexts enforce.
func (s *Shared) Timeout() time.Duration { return s.timeout }

// Get returns the context of an attempt starting now, or nil once closed
// (the caller then falls back to a context of its own). The attempt must
// not cancel it: the context is shared, and expires on its own.
func (s *Shared) Get() context.Context {
	now := s.now()
	if w := s.cur.Load(); w != nil && now.Before(w.until) {
		return w.ctx
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.cur.Load(); w != nil && now.Before(w.until) {
		return w.ctx // another attempt opened it meanwhile
	}
	if s.closed {
		return nil
	}
	// Forget the windows that have expired (their timers cancelled them),
	// so a long batch holds about Windows+1 of them.
	live := s.live[:0]
	for _, w := range s.live {
		if w.ctx.Err() == nil {
			live = append(live, w)
		}
	}
	clear(s.live[len(live):])
	// The window opens at now, which is no later than the attempt's start:
	// every attempt using it starts before now+window and so gets at least
	// the timeout, and at most the timeout plus the window.
	ctx, cancel := context.WithDeadline(s.parent, now.Add(s.timeout+s.window))
	w := &window{ctx: ctx, cancel: cancel, until: now.Add(s.window)}
	s.live = append(live, w)
	s.cur.Store(w)
	return ctx
}

// Close cancels every context handed out, releasing their timers, and
// makes Get return nil. Call it when no attempt is left in flight.
func (s *Shared) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, w := range s.live {
		w.cancel()
	}
	s.live = nil
	s.cur.Store(nil)
}
