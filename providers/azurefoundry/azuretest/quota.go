package azuretest

import (
	"sync"
	"time"
)

// The quota of a deployment (see the package documentation, "Quota"):
// requests are counted in fixed windows of one second, ten seconds and a
// minute, aligned to the handler clock, as Azure evaluates a deployment's
// RPM "over a small period of time, typically 1 or 10 seconds" and refuses
// new requests "until the next evaluation period"; tokens in a bucket of a
// minute's capacity that refills continuously (GCRA), as Azure counts
// tokens per minute.
const (
	secondWindow = time.Second
	tenWindow    = 10 * time.Second
	minuteWindow = time.Minute
	// tpmWindow is the token bucket's capacity: one minute's worth.
	tpmWindow = time.Minute
)

type limiter struct {
	mu       sync.Mutex
	explicit bool // set by WithRateLimit/SetRateLimit; otherwise the default applies
	limit    rateLimit
	// The request windows in progress (their index: the clock divided by
	// the window) and the requests admitted in each.
	sec, ten, min       int64
	inSec, inTen, inMin int
	// tokTAT is the token bucket's theoretical arrival time, in
	// nanoseconds of the handler clock; its debt is tokTAT - now.
	tokTAT int64
}

// quotaResult is the outcome of one admission check.
type quotaResult struct {
	ok    bool
	kind  string        // "call" or "token" when !ok
	wait  time.Duration // until the request would be admitted, when !ok
	limit rateLimit     // the limits in force (0 = unlimited)
	// remainReq is what x-ratelimit-remaining-requests reports: the
	// requests left in the current 10-second window; window its size
	// (x-ratelimit-limit-requests, with WithRateLimitHeaders).
	remainReq, window int
	// remainReqMinute is left of the current minute (Anthropic's headers).
	remainReqMinute int
	// remainTok is x-ratelimit-remaining-tokens: the minute's budget not
	// yet refilled.
	remainTok int
}

// requestWindows returns the requests a deployment of rpm admits in one
// second, ten seconds and a minute: ⌈RPM/60⌉, ⌈RPM/6⌉ and RPM.
func requestWindows(rpm int) (second, ten, minute int) {
	return (rpm + 59) / 60, (rpm + 5) / 6, rpm
}

// admit charges one request of cost tokens at now, or reports how long to
// wait. A rejected request charges nothing.
func (l *limiter) admit(now int64, cost int, def rateLimit) quotaResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := def
	if l.explicit {
		lim = l.limit
	}
	res := quotaResult{ok: true, limit: lim}
	if lim.rpm == 0 && lim.tpm == 0 {
		return res
	}

	var reqWait, tokWait time.Duration
	var perSec, perTen, perMin int
	if lim.rpm > 0 {
		l.roll(now)
		perSec, perTen, perMin = requestWindows(lim.rpm)
		// A full window refuses until it ends.
		for _, w := range [...]struct {
			in, limit int
			size      time.Duration
		}{{l.inSec, perSec, secondWindow}, {l.inTen, perTen, tenWindow}, {l.inMin, perMin, minuteWindow}} {
			if w.in >= w.limit {
				reqWait = max(reqWait, windowEnd(now, w.size))
			}
		}
	}
	var tokTAT, tokInterval int64
	if lim.tpm > 0 {
		tokInterval = int64(time.Minute) / int64(lim.tpm)
		start := max(l.tokTAT, now)
		// Overdraft: admitted while the bucket is not yet empty, whatever
		// the cost, as Azure's per-minute counter admits the request that
		// crosses the limit. A request bigger than the whole TPM still passes
		// on an idle deployment.
		if debt := start - now; debt >= int64(tpmWindow) {
			tokWait = time.Duration(debt - int64(tpmWindow) + 1)
		}
		tokTAT = start + int64(min(cost, 1<<30))*tokInterval
	}
	if reqWait > 0 || tokWait > 0 {
		res.ok = false
		res.kind = "call"
		if tokWait > reqWait {
			res.kind = "token"
		}
		res.wait = max(reqWait, tokWait)
	} else {
		if lim.rpm > 0 {
			l.inSec++
			l.inTen++
			l.inMin++
		}
		if lim.tpm > 0 {
			l.tokTAT = tokTAT
		}
	}
	if lim.rpm > 0 {
		res.window = perTen
		res.remainReq = max(perTen-l.inTen, 0)
		res.remainReqMinute = max(perMin-l.inMin, 0)
	}
	if lim.tpm > 0 {
		owed := ceilDiv(max(l.tokTAT-now, 0), tokInterval)
		res.remainTok = max(lim.tpm-int(owed), 0)
	}
	return res
}

// roll starts the windows that now falls in.
func (l *limiter) roll(now int64) {
	if s := now / int64(secondWindow); s != l.sec {
		l.sec, l.inSec = s, 0
	}
	if t := now / int64(tenWindow); t != l.ten {
		l.ten, l.inTen = t, 0
	}
	if m := now / int64(minuteWindow); m != l.min {
		l.min, l.inMin = m, 0
	}
}

// windowEnd returns the time from now to the end of the window of size
// that now falls in.
func windowEnd(now int64, size time.Duration) time.Duration {
	return time.Duration(int64(size) - now%int64(size))
}

func (l *limiter) set(lim rateLimit, explicit bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limit, l.explicit = lim, explicit
	l.reset()
}

func (l *limiter) resetIfDefault() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.explicit {
		l.reset()
	}
}

func (l *limiter) reset() {
	l.sec, l.ten, l.min, l.inSec, l.inTen, l.inMin, l.tokTAT = 0, 0, 0, 0, 0, 0, 0
}

func ceilDiv(a, b int64) int64 {
	if b <= 0 {
		return 0
	}
	return (a + b - 1) / b
}

// retryAfterValues converts a wait to Azure's two headers: retry-after-ms
// (milliseconds, rounded up, at least 1) and retry-after (seconds, rounded up).
func retryAfterValues(wait time.Duration) (ms, secs int64) {
	ms = max(int64((wait+time.Millisecond-1)/time.Millisecond), 1)
	secs = (ms + 999) / 1000
	return ms, secs
}
