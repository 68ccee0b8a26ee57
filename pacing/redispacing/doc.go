// Package redispacing is a [pacing.Limiter] whose state lives in Redis, so
// that the processes of a job — pods of a Kubernetes job, workers on a few
// VMs, a CLI run next to a service — pace each Azure deployment's quota
// together: four workers told the deployment's RPM send that RPM between
// them, not four times it, and a 429 seen by one pauses all of them.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true})
//	limiter, err := redispacing.New(ctx, rdb, redispacing.WithWorkers(4))
//	if err != nil { … } // Redis did not answer
//	defer limiter.Close()
//	client, err := llm.NewClient("azure-gpt-4o", llm.WithMaxRequestsPerMinute(6000), llm.WithLimiter(limiter))
//
// # Semantics
//
// The rules are package pacing's, unchanged (even pacing with no burst for
// Azure's one- and ten-second windows, token debt, refunds that bank
// nothing, cooldowns that are never shortened, found limits that replace
// higher configured ones), and the limiter passes the same conformance kit
// as [pacing.Local] ([github.com/deluge-go/deluge/pacing/pacingtest]).
//
// The state of quota key K is one Redis hash, prefix+"pace:"+K (prefix
// "deluge:" unless [WithPrefix]): the theoretical arrival times of the next
// request and the next token, the end of the cooldown, the found limits.
// Each call is one Lua script (EVALSHA, falling back to EVAL when Redis
// does not have it, as go-redis's Script.Run does) that reads, decides and
// writes atomically: an admission is one round trip. The key expires
// [DefaultIdleTTL] after its last reservation or cooldown ends.
//
// # Time
//
// The scripts read Redis's clock (TIME), not the caller's, so hosts whose
// clocks disagree still agree on the pace; [WithClock] is for tests on a
// fake clock. Reading the time before writing is allowed because Redis
// replicates a script's effects rather than the script (the default since
// Redis 5, the only mode since Redis 7; Redis ≥ 5 is required).
//
// # Adjustments
//
// [pacing.Pacer.Adjust] does not wait for Redis: the adjustment is carried
// by the next admission of its key, in the same script call, or sent on
// its own about a millisecond later. An admission of the same process
// always sees it; other processes see it within a round trip or so.
//
// # When Redis is lost
//
// A call that fails (or takes longer than [WithOpTimeout]) switches the
// limiter to local pacing: each quota at this worker's share of its limits,
// the limits divided by the number of live workers. Every worker adds itself
// to the sorted set prefix+"workers" each [DefaultHeartbeat] (by Redis's
// clock) and drops out after three silent heartbeats; the count read last
// is the share (no fewer than [WithWorkers] in the first three heartbeats,
// while workers that started together register). The first loss is logged
// as a warning, later ones at info. The heartbeat goes on trying; when
// Redis answers, the limiter attaches again, and for three heartbeats also
// holds each admission to its share, since other workers may still be
// pacing locally. No call fails because Redis is lost: Admit decides
// locally, and Adjust, Cool and SetFound are kept locally.
//
// # Why not redis_rate
//
// github.com/go-redis/redis_rate implements GCRA on Redis with one limit
// per key. deluge needs requests and tokens decided in one atomic step
// (else a request charged for its request but refused for its tokens
// needs a second call to undo), debt for a request larger than the bucket
// (redis_rate refuses it forever), refunds that bank nothing, cooldowns,
// found limits and reservations ahead; hence a script of its own.
package redispacing
