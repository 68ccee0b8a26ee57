// Package ratelimit paces requests under per-minute quotas, the way Azure
// OpenAI and OpenAI enforce requests-per-minute and tokens-per-minute limits.
//
// A Bucket implements the generic cell rate algorithm (GCRA), the algorithm
// behind ATM traffic shaping and many API gateways: it keeps a theoretical
// arrival time (TAT) that advances by one emission interval per unit
// (request or token) charged. A request conforms when TAT - tolerance is not
// in the future; the tolerance is the burst, so a bucket with a one-second
// burst never sends more than one second's quota at once and then paces
// evenly at the rate.
//
// Bucket adds what golang.org/x/time/rate lacks for token quotas:
//
//   - A request may cost more than the burst (a 6,000-token prompt under a
//     one-second burst of 1,666 tokens): it is admitted when the bucket is
//     not in debt and then puts the bucket into debt, as the servers do.
//   - Adjust charges or refunds units after the fact, so an estimated token
//     cost can be reconciled with the usage the server reports; a refund
//     wakes the waiters at once instead of leaving them asleep until their
//     pessimistic reservation time.
//   - Waiters are served in FIFO order, and only the head of the queue
//     sleeps on a timer, so thousands of waiters cost one wake-up per
//     admission rather than a thundering herd.
//   - The rate can change while waiters queue (adaptive slow-down after a
//     server 429).
package ratelimit
