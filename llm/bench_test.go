package llm_test

import (
	"context"
	"sync"
	"testing"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

// instant is a zero-latency provider that allocates its reply as a real
// provider does, without llmtest's request log, so the benchmarks measure
// the engine and not the fake.
func instant() llm.Provider {
	return llm.ProviderFunc(func(_ context.Context, req *llm.Request) (*llm.Response, error) {
		return &llm.Response{
			Completion:   "ok",
			FinishReason: "stop",
			Usage:        llm.Usage{InputTokens: 12, OutputTokens: 1},
		}, nil
	})
}

// BenchmarkProviderDirect is the baseline: the provider called by hand.
func BenchmarkProviderDirect(b *testing.B) {
	p := instant()
	conv := conversation.New().User("What is the capital of France?")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		req := &llm.Request{Messages: conv.Messages()}
		if _, err := p.Generate(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerate measures the engine's overhead per call: options,
// validation, routing, limiters, slot, timeout context, accounting.
func BenchmarkGenerate(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []llm.ClientOption
	}{
		{"unlimited", []llm.ClientOption{llm.WithMaxRequestsPerMinute(-1), llm.WithMaxTokensPerMinute(-1)}},
		// Limits far above the rate reached: the limiters run but never wait.
		{"limited", []llm.ClientOption{llm.WithMaxRequestsPerMinute(1 << 40), llm.WithMaxTokensPerMinute(1 << 50)}},
		{"cache-miss", []llm.ClientOption{llm.WithMaxRequestsPerMinute(-1), llm.WithMaxTokensPerMinute(-1), llm.WithCache(nopCache{})}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := llm.NewClient("bench-model", append([]llm.ClientOption{llm.WithProviderInstance(instant())}, bc.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			conv := conversation.New().User("What is the capital of France?")
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Generate(ctx, conv); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGenerateParallel is Generate from many goroutines at once, the
// contention case of the shared limiters and counters.
func BenchmarkGenerateParallel(b *testing.B) {
	c, err := llm.NewClient("bench-model", llm.WithProviderInstance(instant()),
		llm.WithMaxRequestsPerMinute(1<<40), llm.WithMaxTokensPerMinute(1<<50), llm.WithMaxConcurrency(256))
	if err != nil {
		b.Fatal(err)
	}
	conv := conversation.New().User("What is the capital of France?")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Generate(context.Background(), conv); err != nil {
				b.Fatal(err)
			}
		}
	})
}

const batchSize = 1000

// BenchmarkProcess and BenchmarkErrgroup compare a batch through the
// engine with a hand-written loop at the same concurrency (what
// errgroup.Group with SetLimit does: a goroutine per prompt behind a
// semaphore) against a zero-latency provider; ns/op is per batch of 1,000
// prompts.
func BenchmarkProcess(b *testing.B) {
	c, err := llm.NewClient("bench-model", llm.WithProviderInstance(instant()),
		llm.WithMaxRequestsPerMinute(-1), llm.WithMaxTokensPerMinute(-1),
		llm.WithMaxConcurrency(64))
	if err != nil {
		b.Fatal(err)
	}
	convs := make([]*conversation.Conversation, batchSize)
	for i := range convs {
		convs[i] = conversation.New().User("What is the capital of France?")
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range c.Process(context.Background(), convs) {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
}

func BenchmarkErrgroup(b *testing.B) {
	p := instant()
	convs := make([]*conversation.Conversation, batchSize)
	for i := range convs {
		convs[i] = conversation.New().User("What is the capital of France?")
	}
	b.ReportAllocs()
	for b.Loop() {
		var (
			results = make([]*llm.Response, len(convs))
			errs    = make([]error, len(convs))
			wg      sync.WaitGroup
			sem     = make(chan struct{}, 64)
		)
		for i, conv := range convs {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				results[i], errs[i] = p.Generate(context.Background(), &llm.Request{Messages: conv.Messages()})
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// nopCache misses every time: the cost of fingerprinting and deduplication.
type nopCache struct{}

func (nopCache) Get(context.Context, string) (*llm.Response, bool, error) { return nil, false, nil }
func (nopCache) Put(context.Context, string, *llm.Response) error         { return nil }
