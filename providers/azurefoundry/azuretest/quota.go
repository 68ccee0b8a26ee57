package azuretest

import (
	"sync"
	"time"
)

// The quota is two GCRA buckets per deployment (see the package
// documentation, "Quota"). Both keep a theoretical arrival time (TAT) in
// nanoseconds of the handler clock; the debt of a bucket is TAT - now.
const (
	// rpmWindow is the burst tolerance of the request bucket: RPM/6
	// requests, Azure's "RPM is evaluated over 10 second windows".
	rpmWindow = 10 * time.Second
	// tpmWindow is the token bucket capacity: one minute's worth, because
	// Azure counts tokens per minute.
	tpmWindow = time.Minute
)

type limiter struct {
	mu       sync.Mutex
	explicit bool // set by WithRateLimit/SetRateLimit; otherwise the default applies
	limit    rateLimit
	reqTAT   int64
	tokTAT   int64
}

// quotaResult is the outcome of one admission check.
type quotaResult struct {
	ok        bool
	kind      string        // "call" or "token" when !ok
	wait      time.Duration // until the request would be admitted, when !ok
	limit     rateLimit     // the limits in force (0 = unlimited)
	remainReq int           // x-ratelimit-remaining-requests (per-minute view)
	remainTok int           // x-ratelimit-remaining-tokens
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

	var reqTAT, tokTAT int64
	var reqWait, tokWait time.Duration
	var reqInterval, tokInterval int64
	if lim.rpm > 0 {
		reqInterval = int64(time.Minute) / int64(lim.rpm)
		tolerance := max(int64(rpmWindow), reqInterval)
		reqTAT = max(l.reqTAT, now) + reqInterval
		if debt := reqTAT - now; debt > tolerance {
			reqWait = time.Duration(debt - tolerance)
		}
	}
	if lim.tpm > 0 {
		tokInterval = int64(time.Minute) / int64(lim.tpm)
		start := max(l.tokTAT, now)
		// Overdraft: admitted while the bucket is not yet full, whatever the
		// cost, as Azure's per-minute counter admits the request that
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
		if tokWait > 0 {
			res.kind = "token"
		}
		res.wait = max(reqWait, tokWait)
		res.remainReq, res.remainTok = l.remaining(now, lim, reqInterval, tokInterval)
		return res
	}
	if lim.rpm > 0 {
		l.reqTAT = reqTAT
	}
	if lim.tpm > 0 {
		l.tokTAT = tokTAT
	}
	res.remainReq, res.remainTok = l.remaining(now, lim, reqInterval, tokInterval)
	return res
}

// remaining reports the per-minute budget left, as Azure's
// x-ratelimit-remaining-* headers do: the limit minus the units still owed.
// (Like Azure, a request can be refused while these are positive: the
// request bucket also has the 10 s burst bound.)
func (l *limiter) remaining(now int64, lim rateLimit, reqInterval, tokInterval int64) (req, tok int) {
	if lim.rpm > 0 {
		owed := ceilDiv(max(l.reqTAT-now, 0), reqInterval)
		req = max(lim.rpm-int(owed), 0)
	}
	if lim.tpm > 0 {
		owed := ceilDiv(max(l.tokTAT-now, 0), tokInterval)
		tok = max(lim.tpm-int(owed), 0)
	}
	return req, tok
}

func (l *limiter) set(lim rateLimit, explicit bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limit, l.explicit = lim, explicit
	l.reqTAT, l.tokTAT = 0, 0
}

func (l *limiter) resetIfDefault() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.explicit {
		l.reqTAT, l.tokTAT = 0, 0
	}
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
