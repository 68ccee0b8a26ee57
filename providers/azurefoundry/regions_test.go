package azurefoundry

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/registry"
)

// twoRegions starts two emulators and a provider spreading over them, with
// a fake clock and a random source the test controls.
func twoRegions(t *testing.T, eastOpts, westOpts []azuretest.Option) (*Provider, *azuretest.Server, *azuretest.Server, *fakeClock, *float64) {
	t.Helper()
	east := azuretest.NewServer(append([]azuretest.Option{azuretest.WithAPIKeys("east-key"), azuretest.WithRegion("East US")}, eastOpts...)...)
	west := azuretest.NewServer(append([]azuretest.Option{azuretest.WithAPIKeys("west-key"), azuretest.WithRegion("West US")}, westOpts...)...)
	t.Cleanup(east.Close)
	t.Cleanup(west.Close)
	p := newTestProvider(t, Config{Regions: []Region{
		{Name: "eastus", Endpoint: east.URL, APIKey: "east-key", Weight: 0.7},
		{Name: "westus", Endpoint: west.URL, APIKey: "west-key", Weight: 0.3},
	}}, nil)
	clock := newFakeClock()
	p.now = clock.Now
	r := new(float64)
	p.rand = func() float64 { return *r }
	return p, east, west, clock, r
}

func TestRegionsWeightedChoice(t *testing.T) {
	p, east, west, _, r := twoRegions(t, nil, nil)
	m := lookup(t, "azure-gpt-4o")
	for _, tc := range []struct {
		r    float64
		want string
	}{{0, "eastus"}, {0.69, "eastus"}, {0.71, "westus"}, {0.9999, "westus"}} {
		*r = tc.r
		resp, err := p.Generate(context.Background(), hello(m))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Region != tc.want || resp.Attempts != 1 {
			t.Errorf("rand %v: Region %q Attempts %d, want %s and 1", tc.r, resp.Region, resp.Attempts, tc.want)
		}
	}
	if e, w := east.Requests(), west.Requests(); e != 2 || w != 2 {
		t.Errorf("requests east %d west %d, want 2 and 2", e, w)
	}

	// The model's own region weights take precedence.
	mw := m
	mw.Regions = map[string]float64{"westus": 1}
	*r = 0
	resp, err := p.Generate(context.Background(), hello(mw))
	if err != nil || resp.Region != "westus" {
		t.Errorf("model weights: %v %v", resp, err)
	}
	// Weights naming no configured region are ignored.
	mw.Regions = map[string]float64{"northeurope": 1}
	resp, err = p.Generate(context.Background(), hello(mw))
	if err != nil || resp.Region != "eastus" {
		t.Errorf("foreign model regions: %v %v", resp, err)
	}
	// Weight 0 everywhere is a configuration error.
	mw.Regions = map[string]float64{"eastus": 0, "westus": 0}
	_, err = p.Generate(context.Background(), hello(mw))
	if e := asLLMError(t, err); e.Code != llm.CodeConfiguration || !strings.Contains(e.Message, "weight 0") {
		t.Errorf("zero model weights: %v", err)
	}
}

// TestRegionsDistribution: with the real random source, traffic follows
// the weights.
func TestRegionsDistribution(t *testing.T) {
	p, _, _, _, _ := twoRegions(t, nil, nil)
	p.rand = rand.Float64
	m := lookup(t, "azure-gpt-4o")
	counts := map[string]int{}
	const n = 2000
	for range n {
		if t := p.pick(m, 0); t != nil {
			counts[t.region]++
		}
	}
	if got := float64(counts["eastus"]) / n; math.Abs(got-0.7) > 0.05 {
		t.Errorf("eastus share = %.3f, want about 0.7 (%v)", got, counts)
	}
}

// TestRegionsFailover: a rate-limited region is rested for its
// retry-after while the other serves, within the same call.
func TestRegionsFailover(t *testing.T) {
	p, east, west, clock, r := twoRegions(t, []azuretest.Option{azuretest.WithFaults(azuretest.Faults{Rate429: 1, RetryAfter: 7 * time.Second})}, nil)
	m := lookup(t, "azure-gpt-4o")
	*r = 0 // prefer eastus

	resp, err := p.Generate(context.Background(), hello(m))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Region != "westus" || resp.Attempts != 2 {
		t.Errorf("Region %q Attempts %d, want westus after 2 attempts", resp.Region, resp.Attempts)
	}
	// eastus rests: the next call goes straight to westus.
	resp, err = p.Generate(context.Background(), hello(m))
	if err != nil || resp.Region != "westus" || resp.Attempts != 1 {
		t.Fatalf("while resting: %+v %v", resp, err)
	}
	if got := east.Requests(); got != 1 {
		t.Errorf("east got %d requests, want 1 (it must rest)", got)
	}
	// After its retry-after it is tried again.
	east.SetFaults(azuretest.Faults{})
	clock.Advance(8 * time.Second)
	resp, err = p.Generate(context.Background(), hello(m))
	if err != nil || resp.Region != "eastus" {
		t.Fatalf("after the rest: %+v %v", resp, err)
	}
	if west.Requests() != 2 {
		t.Errorf("west requests = %d", west.Requests())
	}
}

// TestRegionsServerErrorsAndResets fail over on 5xx and broken
// connections too.
func TestRegionsServerErrorsAndResets(t *testing.T) {
	for name, f := range map[string]azuretest.Faults{"500": {Rate500: 1}, "503": {Rate503: 1}, "reset": {RateReset: 1}} {
		t.Run(name, func(t *testing.T) {
			p, _, _, _, r := twoRegions(t, []azuretest.Option{azuretest.WithFaults(f)}, nil)
			*r = 0
			resp, err := p.Generate(context.Background(), hello(lookup(t, "azure-gpt-4o")))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Region != "westus" || resp.Attempts != 2 {
				t.Errorf("Region %q Attempts %d", resp.Region, resp.Attempts)
			}
		})
	}
}

// TestRegionsNoFailoverOnCallerErrors: a request error is the request's
// fault and would fail everywhere; it is returned at once.
func TestRegionsNoFailoverOnCallerErrors(t *testing.T) {
	p, _, west, _, r := twoRegions(t, nil, nil)
	*r = 0
	req := hello(lookup(t, "azure-gpt-4o"))
	req.Messages[0].Parts[0].Text = "please FILTER_PROMPT this"
	_, err := p.Generate(context.Background(), req)
	if !errors.Is(err, llm.ErrContentFiltered) {
		t.Fatalf("err = %v", err)
	}
	if west.Requests() != 0 {
		t.Error("a content-filtered prompt was sent to another region")
	}
}

// TestRegionsAllOut: when every region rests, calls fail without sending,
// with RetryAfter = the shortest rest, and with ErrQuotaExceeded when every
// region's quota is spent.
func TestRegionsAllOut(t *testing.T) {
	p, east, west, clock, r := twoRegions(t,
		[]azuretest.Option{azuretest.WithFaults(azuretest.Faults{Rate429: 1, RetryAfter: 20 * time.Second})},
		[]azuretest.Option{azuretest.WithFaults(azuretest.Faults{Rate429: 1, RetryAfter: 9 * time.Second})})
	m := lookup(t, "azure-gpt-4o")
	*r = 0
	_, err := p.Generate(context.Background(), hello(m))
	e := asLLMError(t, err)
	if !errors.Is(err, llm.ErrRateLimited) || e.RetryAfter != 9*time.Second || e.StatusCode != 429 || e.RequestID == "" {
		t.Errorf("both 429: %v (RetryAfter %v)", err, e.RetryAfter)
	}
	sent := east.Requests() + west.Requests()
	clock.Advance(2 * time.Second)
	_, err = p.Generate(context.Background(), hello(m))
	e = asLLMError(t, err)
	if !errors.Is(err, llm.ErrRateLimited) || e.RetryAfter != 7*time.Second || e.StatusCode != 429 || !strings.Contains(e.Message, "westus: rate limited") {
		t.Errorf("all resting: %v (RetryAfter %v)", err, e.RetryAfter)
	}
	if east.Requests()+west.Requests() != sent {
		t.Error("a request was sent while every region rests")
	}

	// Daily quotas: out until their time, ErrQuotaExceeded, no waiting.
	for _, s := range []*azuretest.Server{east, west} {
		s.SetFaults(azuretest.Faults{})
		if err := s.SetDailyQuotaExhausted("gpt-4o", true); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Minute)
	_, err = p.Generate(context.Background(), hello(m))
	e = asLLMError(t, err)
	if !errors.Is(err, llm.ErrQuotaExceeded) || e.RetryAfter < 23*time.Hour {
		t.Errorf("daily quota everywhere: %v (RetryAfter %v)", err, e.RetryAfter)
	}
	clock.Advance(time.Hour)
	_, err = p.Generate(context.Background(), hello(m))
	e = asLLMError(t, err)
	if !errors.Is(err, llm.ErrQuotaExceeded) || !strings.Contains(e.Message, "Azure quota exceeded") || e.RetryAfter < 22*time.Hour {
		t.Errorf("still out an hour later: %v", err)
	}
}

// TestRegionsStreamFailover: a stream fails over before its first chunk
// and names the serving region on it.
func TestRegionsStreamFailover(t *testing.T) {
	p, _, _, _, r := twoRegions(t, []azuretest.Option{azuretest.WithFaults(azuretest.Faults{Rate503: 1})}, nil)
	*r = 0
	chunks, text, err := collect(p.Stream(context.Background(), hello(lookup(t, "azure-gpt-4o"))))
	if err != nil {
		t.Fatal(err)
	}
	if text != azuretest.ExpectedReply("Hello!") || chunks[0].Region != "westus" {
		t.Errorf("text %q region %q", text, chunks[0].Region)
	}
}

// TestRegionsConcurrent shares a provider between goroutines while one
// region fails (run with -race).
func TestRegionsConcurrent(t *testing.T) {
	p, _, _, _, _ := twoRegions(t, []azuretest.Option{azuretest.WithFaults(azuretest.Faults{Rate429: 0.5}), azuretest.WithSeed(1)}, nil)
	p.rand = rand.Float64
	m := lookup(t, "azure-gpt-4o")
	var wg sync.WaitGroup
	var mu sync.Mutex
	byRegion := map[string]int{}
	for range 40 {
		wg.Go(func() {
			resp, err := p.Generate(context.Background(), hello(m))
			if err != nil {
				// Both regions may rest at once; that is a clean error.
				if !errors.Is(err, llm.ErrRateLimited) {
					t.Error(err)
				}
				return
			}
			mu.Lock()
			byRegion[resp.Region]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if byRegion["westus"] == 0 {
		t.Errorf("no call served by the healthy region: %v", byRegion)
	}
}

func TestRegionsConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no endpoint", Config{Regions: []Region{{Name: "eastus"}}}, "AZURE_OPENAI_ENDPOINT_EASTUS"},
		{"no name", Config{Regions: []Region{{Endpoint: testEndpoint}}}, "no Name"},
		{"duplicate", Config{APIKey: "k", Regions: []Region{{Name: "a", Endpoint: testEndpoint}, {Name: "a", Endpoint: testEndpoint}}}, "twice"},
		{"negative weight", Config{APIKey: "k", Regions: []Region{{Name: "a", Endpoint: testEndpoint, Weight: -1}}}, "weight"},
		{"key and token", Config{Regions: []Region{{Name: "a", Endpoint: testEndpoint, APIKey: "k", ADToken: "t"}}}, "more than one credential"},
		{"no credentials", Config{Regions: []Region{{Name: "a", Endpoint: testEndpoint}}}, "no credentials"},
		{"http", Config{APIKey: "k", Regions: []Region{{Name: "a", Endpoint: "http://x.openai.azure.com"}}}, "https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	// A region without credentials uses the Config's.
	m := newMock(t, okReply)
	p := newTestProvider(t, Config{APIKey: "shared-key", Regions: []Region{{Name: "a", Endpoint: testEndpoint}}}, m)
	resp, err := p.Generate(context.Background(), hello(registry.Model{ID: "x", Provider: ProviderName, Name: "d"}))
	if err != nil || resp.Region != "a" || m.Last(t).Header.Get("api-key") != "shared-key" {
		t.Errorf("inherited key: %v %v", resp, err)
	}
}
