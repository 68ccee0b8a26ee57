// Package pacingtest is the conformance kit of [pacing.Limiter]
// implementations: [Run] checks, on a fake clock it drives, that an
// implementation keeps the contract package llm relies on — even pacing
// with no burst (Azure's 1 s and 10 s windows, start-up included), token
// debt, exact waits, refunds, reservations ahead, cooldowns, found limits,
// independent keys and shared state.
//
// An implementation over a network store (Redis) runs it against a real
// server:
//
//	func TestConformance(t *testing.T) {
//		pacingtest.Run(t, func(t *testing.T, clock func() time.Time) pacing.Limiter {
//			l, err := redispacing.New(ctx, client, redispacing.WithClock(clock))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { l.Close() })
//			return l
//		})
//	}
//
// The limiter must read time from clock, which only moves when the kit
// advances it, and keep at least microsecond resolution: the kit compares
// times within [Tolerance].
package pacingtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/deluge-go/deluge/pacing"
)

// Tolerance is how far a wait may be from the exact one.
const Tolerance = 10 * time.Microsecond

// NewFunc returns a fresh Limiter that reads time from clock. It is called
// once per case; the kit uses keys of its own, unique per case, so a
// shared store needs no flushing between cases.
type NewFunc func(t *testing.T, clock func() time.Time) pacing.Limiter

// Clock is the fake clock the kit drives: it moves only when advanced.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is what a case gets: the limiter, its clock, and a fresh key.
type env struct {
	t     *testing.T
	lim   pacing.Limiter
	clock *Clock
	key   string
	ctx   context.Context
}

func (e *env) pacer() pacing.Pacer { return e.lim.Pacer(e.key) }

func (e *env) admit(p pacing.Pacer, l pacing.Limits, cost int, ahead time.Duration) pacing.Decision {
	e.t.Helper()
	d, err := p.Admit(e.ctx, l, cost, ahead)
	if err != nil {
		e.t.Fatalf("Admit: %v", err)
	}
	if !d.Admitted && d.Wait <= 0 {
		e.t.Fatalf("Admit refused with a wait of %v: a refusal must say how long to wait (> 0)", d.Wait)
	}
	if d.Admitted && d.Wait < 0 {
		e.t.Fatalf("Admit admitted with a negative wait %v", d.Wait)
	}
	return d
}

// send admits at once or fails the case.
func (e *env) send(p pacing.Pacer, l pacing.Limits, cost int, why string) pacing.Decision {
	e.t.Helper()
	d := e.admit(p, l, cost, 0)
	if !d.Admitted || d.Wait != 0 {
		e.t.Fatalf("%s: want admitted at once, got %+v", why, d)
	}
	return d
}

// refused admits with ahead 0 and wants a refusal with the given wait and
// reason.
func (e *env) refused(p pacing.Pacer, l pacing.Limits, cost int, wait time.Duration, reason pacing.Reason, why string) {
	e.t.Helper()
	d := e.admit(p, l, cost, 0)
	if d.Admitted {
		e.t.Fatalf("%s: want a refusal (wait %v, %v), got admitted", why, wait, reason)
	}
	near(e.t, d.Wait, wait, why)
	if d.Reason != reason {
		e.t.Fatalf("%s: want reason %v, got %v", why, reason, d.Reason)
	}
}

func near(t *testing.T, got, want time.Duration, why string) {
	t.Helper()
	if diff := got - want; diff < -Tolerance || diff > Tolerance {
		t.Fatalf("%s: want a wait of %v, got %v", why, want, got)
	}
}

func noErr(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// A case is one rule of the contract, with why it matters to the engine.
type testCase struct {
	name, explanation string
	run               func(e *env)
}

// Run runs every case of the kit as a subtest of t.
func Run(t *testing.T, newLimiter NewFunc) {
	prefix := fmt.Sprintf("pacingtest-%x", rand.Uint64())
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := &Clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			e := &env{t: t, clock: clock, key: fmt.Sprintf("%s-%d", prefix, i), ctx: context.Background()}
			e.lim = newLimiter(t, clock.Now)
			if e.lim == nil {
				t.Fatal("newLimiter returned nil")
			}
			defer func() {
				if t.Failed() {
					t.Log("rule: " + c.explanation)
				}
			}()
			c.run(e)
		})
	}
}

var rpm600 = pacing.Limits{RequestsPerMinute: 600} // one request every 100 ms

var cases = []testCase{
	{
		name:        "IdleKeyAdmitsAtOnce",
		explanation: "the first request of an idle key goes at once, with reason Ready and no found limits",
		run: func(e *env) {
			d := e.send(e.pacer(), rpm600, 1, "first request")
			if d.Reason != pacing.Ready || d.Found != (pacing.Limits{}) {
				e.t.Fatalf("want reason Ready and no found limits, got %+v", d)
			}
		},
	},
	{
		name:        "RequestsPaceEvenlyWithNoBurst",
		explanation: "requests are spaced 60 s/RPM apart from the first one on: a start-up burst would overflow Azure's one-second window",
		run: func(e *env) {
			p := e.pacer()
			e.send(p, rpm600, 1, "first request")
			e.refused(p, rpm600, 1, 100*time.Millisecond, pacing.Requests, "second request at once")
			e.clock.Advance(99 * time.Millisecond)
			e.refused(p, rpm600, 1, time.Millisecond, pacing.Requests, "second request 1 ms early")
			e.clock.Advance(time.Millisecond)
			e.send(p, rpm600, 1, "second request on time")
		},
	},
	{
		name:        "RefusalChargesNothing",
		explanation: "a refused Admit leaves the state as it was, so that asking again costs nothing",
		run: func(e *env) {
			p := e.pacer()
			e.send(p, rpm600, 1, "first request")
			for range 5 {
				e.refused(p, rpm600, 1, 100*time.Millisecond, pacing.Requests, "repeated refusals")
			}
		},
	},
	{
		name:        "WindowsHoldAtMostTheirShare",
		explanation: "a client admitting as soon as allowed sends at most ⌈RPM/60⌉ requests in any one-second window and ⌈RPM/6⌉ in any ten-second window (Azure's windows), and still uses the quota",
		run: func(e *env) {
			for _, rpm := range []int{7, 60, 90, 600, 1000, 6000, 6001} {
				l := pacing.Limits{RequestsPerMinute: rpm}
				p := e.lim.Pacer(fmt.Sprintf("%s-%d", e.key, rpm))
				start := e.clock.Now()
				var sent []time.Time
				for e.clock.Now().Sub(start) < 30*time.Second {
					d := e.admit(p, l, 1, 0)
					if d.Admitted {
						sent = append(sent, e.clock.Now())
						if len(sent) > 30*rpm/60+ceilDiv(rpm, 6)+1 {
							e.t.Fatalf("RPM %d: more than %d requests admitted in 30 s (a burst?)", rpm, len(sent)-1)
						}
						continue
					}
					e.clock.Advance(d.Wait)
				}
				for _, w := range []struct {
					span  time.Duration
					limit int
				}{{time.Second, ceilDiv(rpm, 60)}, {10 * time.Second, ceilDiv(rpm, 6)}} {
					if got := maxInWindow(sent, w.span); got > w.limit {
						e.t.Fatalf("RPM %d: %d requests in a %v window, want at most %d", rpm, got, w.span, w.limit)
					}
				}
				// 30 s at RPM/60 a second, the first at 0: no fewer than that.
				if want := 30 * rpm / 60; len(sent) < want {
					e.t.Fatalf("RPM %d: %d requests in 30 s, want at least %d (the quota is not used)", rpm, len(sent), want)
				}
			}
		},
	},
	{
		name:        "TokensPaceAndLargeRequestsGoIntoDebt",
		explanation: "tokens are paced at TPM/60 a second; a request larger than the pace allows goes when the key owes nothing and puts it in debt, as Azure admits it and counts it",
		run: func(e *env) {
			l := pacing.Limits{TokensPerMinute: 6000} // 100 tokens a second
			p := e.pacer()
			e.send(p, l, 50, "first request")
			e.refused(p, l, 50, 500*time.Millisecond, pacing.Tokens, "50 tokens owed at 100 a second")
			e.clock.Advance(500 * time.Millisecond)
			e.send(p, l, 12_000, "a request of two minutes' worth, on an idle key")
			e.refused(p, l, 1, 2*time.Minute, pacing.Tokens, "the debt of the large request")
		},
	},
	{
		name:        "BothLimitsApply",
		explanation: "a request waits for the later of the two paces, and the reason names the one that holds it",
		run: func(e *env) {
			l := pacing.Limits{RequestsPerMinute: 600, TokensPerMinute: 60_000} // 100 ms; 1,000 tokens a second
			p := e.pacer()
			e.send(p, l, 500, "first request") // tokens free at +500 ms
			e.refused(p, l, 1, 500*time.Millisecond, pacing.Tokens, "tokens hold the second request longer than requests")
			e.clock.Advance(500 * time.Millisecond)
			e.send(p, l, 10, "second request")
			e.refused(p, l, 1, 100*time.Millisecond, pacing.Requests, "then requests hold the third")
		},
	},
	{
		name:        "RefundsShortenTheWait",
		explanation: "Adjust with negative tokens refunds an over-estimate and requests = -1 a request that was not sent, so the next admission comes sooner; a positive Adjust charges more",
		run: func(e *env) {
			l := pacing.Limits{RequestsPerMinute: 600, TokensPerMinute: 6000}
			p := e.pacer()
			e.send(p, l, 100, "first request") // tokens free at +1 s
			noErr(e.t, p.Adjust(e.ctx, l, 0, -60), "Adjust")
			e.refused(p, l, 1, 400*time.Millisecond, pacing.Tokens, "after a refund of 60 of 100 tokens")
			noErr(e.t, p.Adjust(e.ctx, l, 0, 30), "Adjust")
			e.refused(p, l, 1, 700*time.Millisecond, pacing.Tokens, "after a charge of 30 more")
			noErr(e.t, p.Adjust(e.ctx, l, -1, -70), "Adjust")
			e.send(p, l, 1, "after refunding the request and all its tokens")
		},
	},
	{
		name:        "RefundsBankNothing",
		explanation: "a refund never takes the pace below now: a key that sent nothing cannot burst later",
		run: func(e *env) {
			p := e.pacer()
			e.send(p, rpm600, 1, "first request")
			e.clock.Advance(time.Second)
			noErr(e.t, p.Adjust(e.ctx, rpm600, -5, 0), "Adjust")
			e.send(p, rpm600, 1, "a request after a second")
			e.refused(p, rpm600, 1, 100*time.Millisecond, pacing.Requests, "the refund banked no burst")
		},
	},
	{
		name:        "AdmitAheadReserves",
		explanation: "with ahead, a request that may go within ahead is admitted and charged from the time it may go, so one call suffices; later requests queue behind it",
		run: func(e *env) {
			p := e.pacer()
			e.send(p, rpm600, 1, "first request")
			d := e.admit(p, rpm600, 1, 250*time.Millisecond)
			if !d.Admitted {
				e.t.Fatalf("want the second request admitted ahead, got %+v", d)
			}
			near(e.t, d.Wait, 100*time.Millisecond, "the reservation's wait")
			if d.Reason != pacing.Requests {
				e.t.Fatalf("want reason rpm for a reservation that waits for the pace, got %v", d.Reason)
			}
			e.refused(p, rpm600, 1, 200*time.Millisecond, pacing.Requests, "the third request waits behind the reservation")
			d = e.admit(p, rpm600, 1, 150*time.Millisecond)
			if d.Admitted {
				e.t.Fatalf("want a refusal when the wait (200 ms) exceeds ahead (150 ms), got %+v", d)
			}
		},
	},
	{
		name:        "CooldownAdmitsNothing",
		explanation: "Cool pauses the key (a 429's retry-after), limits or not; a shorter Cool does not shorten it; when it ends the pace resumes at once, with no burst",
		run: func(e *env) {
			p := e.pacer()
			noErr(e.t, p.Cool(e.ctx, 2*time.Second), "Cool")
			noErr(e.t, p.Cool(e.ctx, time.Second), "Cool")
			e.refused(p, pacing.Limits{}, 1, 2*time.Second, pacing.Cooldown, "an unlimited key cooling down")
			d := e.admit(p, rpm600, 1, time.Hour)
			if d.Admitted {
				e.t.Fatal("a cooling key admitted a request ahead")
			}
			e.clock.Advance(2 * time.Second)
			e.send(p, rpm600, 1, "the cooldown is over")
			e.refused(p, rpm600, 1, 100*time.Millisecond, pacing.Requests, "the pace resumes with no burst")
		},
	},
	{
		name:        "FoundLimitsLowerThePace",
		explanation: "SetFound replaces higher configured limits (the server allows less), is reported in every Decision, has no effect above the configured limits, and clears with a zero field",
		run: func(e *env) {
			p := e.pacer()
			found := pacing.Limits{RequestsPerMinute: 300}
			noErr(e.t, p.SetFound(e.ctx, found), "SetFound")
			d := e.send(p, rpm600, 1, "first request")
			if d.Found != found {
				e.t.Fatalf("want Found %+v in the decision, got %+v", found, d.Found)
			}
			e.refused(p, rpm600, 1, 200*time.Millisecond, pacing.Requests, "paced at the found 300 RPM")
			e.clock.Advance(200 * time.Millisecond)
			noErr(e.t, p.SetFound(e.ctx, pacing.Limits{RequestsPerMinute: 6000}), "SetFound")
			e.send(p, rpm600, 1, "second request")
			e.refused(p, rpm600, 1, 100*time.Millisecond, pacing.Requests, "a found limit above the configured one changes nothing")
			noErr(e.t, p.SetFound(e.ctx, pacing.Limits{}), "SetFound")
			d = e.admit(p, rpm600, 1, 0)
			if d.Found != (pacing.Limits{}) {
				e.t.Fatalf("want no found limits after clearing, got %+v", d.Found)
			}
		},
	},
	{
		name:        "LimitsComeWithEachCall",
		explanation: "the state holds no configuration: each call paces at the limits it is given",
		run: func(e *env) {
			p := e.pacer()
			e.send(p, rpm600, 1, "first request at 600 RPM")
			e.clock.Advance(100 * time.Millisecond)
			e.send(p, pacing.Limits{RequestsPerMinute: 60}, 1, "second request at 60 RPM")
			e.refused(p, pacing.Limits{RequestsPerMinute: 60}, 1, time.Second, pacing.Requests, "paced at 60 RPM")
		},
	},
	{
		name:        "UnlimitedAdmitsEverything",
		explanation: "zero limits pace nothing",
		run: func(e *env) {
			p := e.pacer()
			for range 1000 {
				e.send(p, pacing.Limits{}, 1_000_000, "unlimited")
			}
		},
	},
	{
		name:        "KeysAreIndependent",
		explanation: "two quota keys (two deployments) do not pace each other; a cooldown of one leaves the other alone",
		run: func(e *env) {
			a, b := e.lim.Pacer(e.key+"-a"), e.lim.Pacer(e.key+"-b")
			e.send(a, rpm600, 1, "key a")
			e.send(b, rpm600, 1, "key b")
			noErr(e.t, a.Cool(e.ctx, time.Minute), "Cool")
			e.clock.Advance(100 * time.Millisecond)
			e.send(b, rpm600, 1, "key b while a cools")
		},
	},
	{
		name:        "PacersOfAKeyShareItsState",
		explanation: "every Pacer of a key shares one state: what one caller is charged, the others wait for",
		run: func(e *env) {
			a, b := e.lim.Pacer(e.key), e.lim.Pacer(e.key)
			e.send(a, rpm600, 1, "through one pacer")
			e.refused(b, rpm600, 1, 100*time.Millisecond, pacing.Requests, "through another pacer of the same key")
			noErr(e.t, b.Cool(e.ctx, time.Second), "Cool")
			e.refused(a, rpm600, 1, time.Second, pacing.Cooldown, "a cooldown set through the other pacer")
		},
	},
	{
		name:        "ConcurrentAdmissionsAreAtomic",
		explanation: "callers admitting at the same instant never both get the same slot: with the clock frozen, exactly one of many concurrent requests is admitted",
		run: func(e *env) {
			p := e.pacer()
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				admitted int
			)
			for range 32 {
				wg.Go(func() {
					d, err := p.Admit(e.ctx, rpm600, 1, 0)
					if err != nil {
						e.t.Error(err)
						return
					}
					if d.Admitted {
						mu.Lock()
						admitted++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if admitted != 1 {
				e.t.Fatalf("%d of 32 concurrent requests admitted at one instant, want 1", admitted)
			}
		},
	},
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// maxInWindow returns the most times within any half-open window [t, t+w).
func maxInWindow(times []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range times {
		for times[i].Sub(times[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}
