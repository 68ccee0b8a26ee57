package redispacing_test

import (
	"context"
	"testing"
	"time"

	"github.com/deluge-go/deluge/internal/redistest"
	"github.com/deluge-go/deluge/pacing"
	"github.com/deluge-go/deluge/pacing/redispacing"
)

// BenchmarkPacer is what pacing adds to one request: an admission and the
// adjustment after its reply (the prompt as the server counted it), for
// the in-process limiter and the Redis one over loopback. The limits are
// high enough that nothing waits long: the figure is the cost of asking. Admissions ask 25 ms
// ahead, as package llm does.
//
//	go test -run '^$' -bench Pacer -benchtime 2s ./pacing/redispacing/
func BenchmarkPacer(b *testing.B) {
	// One request a nanosecond (the finest pace), tokens not paced: the
	// state is read and written as for any paced key.
	limits := pacing.Limits{RequestsPerMinute: 60e9}
	run := func(b *testing.B, p pacing.Pacer) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			d, err := p.Admit(ctx, limits, 300, 25*time.Millisecond)
			if err != nil || !d.Admitted {
				b.Fatalf("Admit: %+v, %v", d, err)
			}
			if err := p.Adjust(ctx, limits, 0, -40); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("local", func(b *testing.B) {
		run(b, pacing.NewLocal().Pacer("k"))
	})
	b.Run("redis", func(b *testing.B) {
		srv := redistest.New(b)
		rdb := srv.Client()
		defer rdb.Close()
		l, err := redispacing.New(context.Background(), rdb)
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		run(b, l.Pacer("k"))
	})
	b.Run("redis-parallel", func(b *testing.B) {
		srv := redistest.New(b)
		rdb := srv.Client()
		defer rdb.Close()
		l, err := redispacing.New(context.Background(), rdb)
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		p := l.Pacer("k")
		ctx := context.Background()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if d, err := p.Admit(ctx, limits, 300, 25*time.Millisecond); err != nil || !d.Admitted {
					b.Errorf("Admit: %+v, %v", d, err)
					return
				}
				p.Adjust(ctx, limits, 0, -40)
			}
		})
	})
}
