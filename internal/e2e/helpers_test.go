package e2e

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/azureharness"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

const (
	apiKey     = "e2e-key"
	deployment = "gpt-4o" // the deployment name of azure-gpt-4o
	model      = "azure-gpt-4o"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// emulator starts an emulator serving the gpt-4o deployment on a loopback
// port.
func emulator(t *testing.T, opts ...azuretest.Option) *azuretest.Server {
	t.Helper()
	srv := azuretest.NewServer(append([]azuretest.Option{azuretest.WithAPIKeys(apiKey), azuretest.WithDeployment(deployment, "")}, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}

// emulatorInMemory starts an emulator serving the gpt-4o deployment over
// in-memory connections (package memnet), for a test running in a
// testing/synctest bubble: the emulator's quotas and latency and the
// client's pacing, backoff and cooldowns all run on the bubble's fake
// clock, so minutes of paced traffic take the CPU time they need, not the
// minutes. The HTTP on both sides is the real net/http. It returns the
// emulator and a provider configuration that reaches it.
func emulatorInMemory(t *testing.T, opts ...azuretest.Option) (*azuretest.Handler, azurefoundry.Config) {
	t.Helper()
	h, url, client, stop := azureharness.InMemory(append([]azuretest.Option{azuretest.WithAPIKeys(apiKey), azuretest.WithDeployment(deployment, "")}, opts...)...)
	t.Cleanup(stop)
	return h, azurefoundry.Config{Endpoint: url, HTTPClient: client}
}

// provider builds an Azure provider for cfg, recording its HTTP exchanges
// in rec when rec is not nil.
func provider(t *testing.T, cfg azurefoundry.Config, rec *recorder) *azurefoundry.Provider {
	t.Helper()
	if cfg.APIKey == "" && len(cfg.Regions) == 0 {
		cfg.APIKey = apiKey
	}
	cfg.Logger = quiet
	if rec != nil {
		if cfg.HTTPClient != nil {
			rec.base = cfg.HTTPClient.Transport
		} else {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.MaxIdleConnsPerHost = 256
			rec.base = tr
		}
		cfg.HTTPClient = &http.Client{Transport: rec}
	}
	p, err := azurefoundry.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// client returns a Client for azure-gpt-4o served by p, quiet unless opts
// say otherwise.
func client(t *testing.T, p llm.Provider, opts ...llm.ClientOption) *llm.Client {
	t.Helper()
	c, err := llm.NewClient(model, append([]llm.ClientOption{
		llm.WithProviderInstance(p),
		llm.WithLogger(quiet),
	}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func prompts(n int) []*conversation.Conversation {
	out := make([]*conversation.Conversation, n)
	for i := range out {
		out[i] = conversation.New().User(promptText(i))
	}
	return out
}

func promptText(i int) string { return fmt.Sprintf("prompt %d", i) }

// requireAllSucceeded checks one successful result per prompt, in input
// order, with the emulator's reply.
func requireAllSucceeded(t *testing.T, results []llm.Result) {
	t.Helper()
	for i, r := range results {
		require.NoError(t, r.Err, "prompt %d", i)
		require.Equal(t, i, r.Index)
		require.Equal(t, azuretest.ExpectedReply(promptText(i)), r.Response.Completion, "prompt %d", i)
	}
}

// scaledClock runs k times faster than time.Now, so the emulator's
// per-minute quotas play out k times sooner.
func scaledClock(k int) func() time.Time {
	base := time.Now()
	return func() time.Time { return base.Add(time.Since(base) * time.Duration(k)) }
}

// exchange is one HTTP request as the client saw it.
type exchange struct {
	sent, received time.Time
	status         int
	retryAfter     time.Duration // from retry-after-ms
}

// recorder is an http.RoundTripper that records every exchange by request
// body, so the attempts at one prompt can be told apart from the others.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	log  map[[32]byte][]exchange
}

func newRecorder() *recorder { return &recorder{log: map[[32]byte][]exchange{}} }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var key [32]byte
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		key = sha256.Sum256(body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	ex := exchange{sent: time.Now()}
	resp, err := r.base.RoundTrip(req)
	ex.received = time.Now()
	if resp != nil {
		ex.status = resp.StatusCode
		if ms, perr := strconv.Atoi(resp.Header.Get("retry-after-ms")); perr == nil {
			ex.retryAfter = time.Duration(ms) * time.Millisecond
		}
	}
	r.mu.Lock()
	r.log[key] = append(r.log[key], ex)
	r.mu.Unlock()
	return resp, err
}

// checkRetrySpacing fails the test if any attempt at a prompt was sent
// before the retry-after-ms of that prompt's previous 429 had elapsed,
// measured from when the client received the 429. It returns the number
// of retries after a 429 it checked.
func (r *recorder) checkRetrySpacing(t *testing.T) int {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	checked := 0
	for _, exs := range r.log {
		for i := 1; i < len(exs); i++ {
			prev := exs[i-1]
			if prev.status != http.StatusTooManyRequests {
				continue
			}
			checked++
			if gap := exs[i].sent.Sub(prev.received); gap < prev.retryAfter {
				t.Errorf("retry sent %v after a 429 that asked for %v", gap, prev.retryAfter)
			}
		}
	}
	return checked
}

// failedStatuses counts the emulator's responses that were not 200.
func failedStatuses(s azuretest.Stats) int {
	n := 0
	for status, count := range s.ByStatus {
		if status != http.StatusOK {
			n += count
		}
	}
	return n
}
