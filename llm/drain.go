package llm

import (
	"context"
	"errors"
)

// ErrDrained is the cause (under errors.Is) of the error of a call that
// [WithDrain] stopped before it was sent, or before a retry: nothing of it
// is in flight, and sending it again later is safe. The error's code is
// [CodeCanceled].
var ErrDrained = errors.New("llm: not sent: the call was drained")

// WithDrain stops a call, or a batch, from sending anything new once done
// is closed, without cutting what is already on the wire: the way to shut
// down gracefully (a first Ctrl-C) when canceling the context (a second)
// would throw away replies already paid for.
//
// After done is closed:
//   - a call that has not sent its request yet (waiting for rate capacity,
//     a concurrency slot, a cooldown, or not started) ends at once with an
//     error matching [ErrDrained] and [ErrCanceled];
//   - an attempt in flight runs to its end, bounded as always by
//     [WithRequestTimeout] (and [WithStreamIdleTimeout]) and the context;
//     its reply is returned, but a failed attempt is not retried: the call
//     ends with ErrDrained, naming the last error;
//   - [Client.ProcessJobs] and [Client.ProcessSeq] pull no more input and
//     yield a result (ErrDrained) for each job they had taken but not
//     sent, then end; [Client.Process] returns ErrDrained results for
//     every prompt not sent.
//
// So after the drain, every result is either a reply or an error saying
// the prompt was not sent (or not completed) and can be sent again. A
// done channel is typically the Done of a context canceled on the first
// signal:
//
//	stop, cancel := signal.NotifyContext(ctx, os.Interrupt)
//	for i, r := range client.ProcessJobs(ctx, jobs, llm.WithDrain(stop.Done())) { … }
func WithDrain(done <-chan struct{}) Option {
	return func(o *callOptions) { o.drain = done }
}

// drained reports whether the call's drain channel is closed.
func (o *callOptions) drained() bool {
	if o.drain == nil {
		return false
	}
	select {
	case <-o.drain:
		return true
	default:
		return false
	}
}

// drainedError is the error of a call the drain stopped; last is the
// error of its previous attempt, if any.
func drainedError(model string, last error) error {
	e := &Error{Code: CodeCanceled, Model: model, Message: "not sent: the call was drained (WithDrain) before it was sent", Err: ErrDrained}
	if last != nil {
		e.Message = "not retried: the call was drained (WithDrain) after a failed attempt (last error: " + last.Error() + ")"
		e.Err = errors.Join(ErrDrained, last)
	}
	return e
}

// waitContext returns the context of the call's waits before sending
// (rate capacity, slots, cooldowns, backoff): ctx, canceled as well when
// the drain channel closes. A batch's calls share one (see runBatch);
// others get their own, with a goroutine that watches the channel until
// stop is called.
func (k *call) waitContext(ctx context.Context) (wctx context.Context, stop func()) {
	drain := k.o.drain
	if drain == nil {
		return ctx, func() {}
	}
	if b, ok := ctx.(*batchContext); ok && b.drain == drain {
		return b.waits, func() {}
	}
	base := ctx
	b, isBatch := ctx.(*batchContext)
	if isBatch {
		base = b.Context
	}
	w, cancel := watchDrain(base, drain)
	if isBatch {
		// Keep the batch's identity, so that waits lend their worker's
		// place (see waiting).
		return &batchContext{Context: w, deadlines: b.deadlines, pool: b.pool}, cancel
	}
	return w, cancel
}

// watchDrain returns a context canceled when ctx is done or drain is
// closed, and the function that releases it.
func watchDrain(ctx context.Context, drain <-chan struct{}) (context.Context, context.CancelFunc) {
	w, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-drain:
			cancel()
		case <-w.Done():
		}
	}()
	return w, cancel
}
