package pacing_test

import (
	"context"
	"fmt"
	"time"

	"github.com/deluge-go/deluge/pacing"
)

// A Pacer admits requests to one quota evenly: at 600 requests per minute,
// one every 100 ms from the first, with no start-up burst.
func ExampleLocal() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	p := pacing.NewLocal(pacing.WithClock(clock)).Pacer("https://my-resource.openai.azure.com#gpt-4o")
	quota := pacing.Limits{RequestsPerMinute: 600, TokensPerMinute: 100_000}
	ctx := context.Background()

	for range 3 {
		d, _ := p.Admit(ctx, quota, 150, 0)
		if !d.Admitted {
			fmt.Printf("wait %v (%v)\n", d.Wait, d.Reason)
			now = now.Add(d.Wait)
			d, _ = p.Admit(ctx, quota, 150, 0)
		}
		fmt.Println("sent at", now.Format("15:04:05.000"))
	}

	// A 429 with retry-after-ms: 2000 pauses the quota for everyone.
	_ = p.Cool(ctx, 2*time.Second)
	d, _ := p.Admit(ctx, quota, 150, 0)
	fmt.Printf("wait %v (%v)\n", d.Wait, d.Reason)
	// Output:
	// sent at 00:00:00.000
	// wait 100ms (rpm)
	// sent at 00:00:00.100
	// wait 100ms (rpm)
	// sent at 00:00:00.200
	// wait 2s (cooldown)
}
