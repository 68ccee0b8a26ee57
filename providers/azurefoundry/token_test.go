package azurefoundry

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/deluge-go/deluge/llm"
)

func TestTokenCacheRefreshesBeforeExpiry(t *testing.T) {
	clock := newFakeClock()
	cred := &fakeCredential{clock: clock, life: time.Hour}
	c := newTokenCache(cred, DefaultTokenScope, clock.Now, quietLogger)
	ctx := context.Background()

	tok := mustToken(t, c)
	if tok != "tok-1" {
		t.Fatalf("first token = %q", tok)
	}
	if got := cred.scopes.Load().([]string); !slices.Equal(got, []string{DefaultTokenScope}) {
		t.Errorf("scopes = %v", got)
	}
	// Within its life minus the margin, the cached token is reused.
	clock.Advance(54 * time.Minute)
	if tok := mustToken(t, c); tok != "tok-1" || cred.calls.Load() != 1 {
		t.Fatalf("at 54 min: token %q after %d calls, want tok-1 after 1", tok, cred.calls.Load())
	}
	// Inside the 5-minute margin it is replaced, before the server would
	// reject it.
	clock.Advance(2 * time.Minute)
	if tok := mustToken(t, c); tok != "tok-2" {
		t.Fatalf("at 56 min: token %q, want tok-2", tok)
	}
	// A token that expired (clock jumped, e.g. after sleep) is replaced too.
	clock.Advance(3 * time.Hour)
	if tok, _ := c.token(ctx); tok != "tok-3" {
		t.Fatalf("after expiry: token %q, want tok-3", tok)
	}
}

func TestTokenCacheHonoursRefreshOn(t *testing.T) {
	clock := newFakeClock()
	cred := refreshOnCredential{clock: clock}
	c := newTokenCache(cred, "scope/.default", clock.Now, quietLogger)
	mustToken(t, c)
	cur := c.cur.Load()
	if want := clock.Now().Add(30 * time.Minute); !cur.refreshAt.Equal(want) {
		t.Errorf("refreshAt = %v, want RefreshOn %v", cur.refreshAt, want)
	}
}

type refreshOnCredential struct{ clock *fakeClock }

func (c refreshOnCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	now := c.clock.Now()
	return azcore.AccessToken{Token: "t", ExpiresOn: now.Add(time.Hour), RefreshOn: now.Add(30 * time.Minute)}, nil
}

func TestRefreshTime(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		life time.Duration
		want time.Duration
	}{
		{time.Hour, 55 * time.Minute},
		{24 * time.Hour, 24*time.Hour - 5*time.Minute},
		{8 * time.Minute, 4 * time.Minute}, // short-lived: halfway
		{0, 0},
	} {
		if got := refreshTime(now, now.Add(tc.life), time.Time{}).Sub(now); got != tc.want {
			t.Errorf("life %v: refresh after %v, want %v", tc.life, got, tc.want)
		}
	}
}

// TestTokenCacheSingleFlight: concurrent callers with no token wait for one
// GetToken; callers during a refresh of a still-valid token do not wait.
func TestTokenCacheSingleFlight(t *testing.T) {
	clock := newFakeClock()
	cred := &fakeCredential{clock: clock, life: time.Hour, gate: make(chan struct{})}
	c := newTokenCache(cred, DefaultTokenScope, clock.Now, quietLogger)

	var wg sync.WaitGroup
	toks := make([]string, 50)
	for i := range toks {
		wg.Go(func() {
			tok, err := c.token(context.Background())
			if err != nil {
				t.Error(err)
			}
			toks[i] = tok
		})
	}
	time.Sleep(10 * time.Millisecond) // let them pile up on the semaphore
	close(cred.gate)
	wg.Wait()
	if n := cred.calls.Load(); n != 1 {
		t.Errorf("GetToken called %d times, want 1", n)
	}
	for _, tok := range toks {
		if tok != "tok-1" {
			t.Fatalf("token %q, want tok-1", tok)
		}
	}

	// Due for refresh: one caller refreshes while the others get the
	// current token at once.
	clock.Advance(56 * time.Minute)
	cred.gate = make(chan struct{})
	refreshed := make(chan string)
	go func() {
		tok, _ := c.token(context.Background())
		refreshed <- tok
	}()
	deadline := time.Now().Add(2 * time.Second)
	for len(c.sem) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if tok := mustToken(t, c); tok != "tok-1" {
		t.Errorf("during refresh: %q, want the still-valid tok-1", tok)
	}
	close(cred.gate)
	if tok := <-refreshed; tok != "tok-2" {
		t.Errorf("refresher got %q, want tok-2", tok)
	}
}

func TestTokenCacheFailures(t *testing.T) {
	clock := newFakeClock()
	cred := &fakeCredential{clock: clock, life: time.Hour}
	c := newTokenCache(cred, DefaultTokenScope, clock.Now, quietLogger)
	mustToken(t, c)

	// A failed refresh while the token is valid keeps the token and backs
	// off instead of calling the credential on every request.
	cred.fail.Store(true)
	clock.Advance(56 * time.Minute)
	if tok := mustToken(t, c); tok != "tok-1" {
		t.Fatalf("failed refresh: %q, want tok-1", tok)
	}
	calls := cred.calls.Load()
	mustToken(t, c)
	if cred.calls.Load() != calls {
		t.Error("credential called again within the back-off")
	}
	// Expired and still failing: an error naming the scope, which is
	// errTokenUnavailable.
	clock.Advance(5 * time.Minute)
	_, err := c.token(context.Background())
	if err == nil || !errors.Is(err, errTokenUnavailable) || !strings.Contains(err.Error(), DefaultTokenScope) {
		t.Fatalf("expired token, failing credential: %v", err)
	}
	// Recovers once the credential does.
	cred.fail.Store(false)
	if tok := mustToken(t, c); !strings.HasPrefix(tok, "tok-") || tok == "tok-1" {
		t.Errorf("after recovery: %q", tok)
	}
}

func TestTokenCacheWaitHonoursContext(t *testing.T) {
	clock := newFakeClock()
	cred := &fakeCredential{clock: clock, life: time.Hour, gate: make(chan struct{})}
	defer close(cred.gate)
	c := newTokenCache(cred, DefaultTokenScope, clock.Now, quietLogger)
	go c.token(context.Background()) // holds the semaphore, blocked
	for len(c.sem) == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.token(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
}

// TestProviderTokenRefresh: requests carry the new token once the old one
// is due, and a credential failure is an authentication error sent nowhere.
func TestProviderTokenRefresh(t *testing.T) {
	clock := newFakeClock()
	cred := &fakeCredential{clock: clock, life: time.Hour}
	m := newMock(t, okReply)
	p := newTestProvider(t, Config{Endpoint: testEndpoint, Credential: cred, TokenScope: "https://cognitiveservices.azure.us/.default"}, m)
	p.now = clock.Now
	model := lookup(t, "azure-gpt-4o")

	for i := 0; i < 3; i++ {
		if _, err := p.Generate(context.Background(), hello(model)); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.Last(t).Header.Get("Authorization"); got != "Bearer tok-1" || cred.calls.Load() != 1 {
		t.Fatalf("Authorization %q after %d GetToken calls", got, cred.calls.Load())
	}
	if got := cred.scopes.Load().([]string); got[0] != "https://cognitiveservices.azure.us/.default" {
		t.Errorf("scope = %v", got)
	}
	clock.Advance(58 * time.Minute)
	if _, err := p.Generate(context.Background(), hello(model)); err != nil {
		t.Fatal(err)
	}
	if got := m.Last(t).Header.Get("Authorization"); got != "Bearer tok-2" {
		t.Fatalf("after refresh: Authorization %q, want Bearer tok-2", got)
	}

	cred.fail.Store(true)
	clock.Advance(2 * time.Hour)
	n := m.Count()
	_, err := p.Generate(context.Background(), hello(model))
	e := asLLMError(t, err)
	if !errors.Is(err, llm.ErrAuthentication) || !strings.Contains(e.Message, "az login") || !strings.Contains(e.Message, "my-resource") {
		t.Errorf("credential failure: %v", err)
	}
	if m.Count() != n {
		t.Error("a request was sent without a token")
	}
}

func mustToken(t *testing.T, c *tokenCache) string {
	t.Helper()
	tok, err := c.token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestAuthDoerTokenFailure: when the doer cannot get a token it sends
// nothing, and the provider reports an authentication error.
func TestAuthDoerTokenFailure(t *testing.T) {
	clock := newFakeClock()
	cred := &fakeCredential{clock: clock, life: time.Hour}
	cred.fail.Store(true)
	m := newMock(t, okReply)
	a := &auth{kind: authToken, tokens: newTokenCache(cred, DefaultTokenScope, clock.Now, quietLogger)}
	d := authDoer{auth: a, next: m.Client()}
	req, _ := http.NewRequest(http.MethodPost, testEndpoint+"/openai/v1/chat/completions", strings.NewReader("{}"))
	_, doErr := d.Do(req)
	if !errors.Is(doErr, errTokenUnavailable) {
		t.Errorf("Do: %v", doErr)
	}
	if m.Count() != 0 {
		t.Error("a request was sent without a token")
	}
	// The openai provider reports a doer failure as a network error; the
	// Azure layer turns it back into an authentication error. (This path
	// is taken when the token expires between the provider's prewarm and
	// the doer.)
	p := newTestProvider(t, Config{Endpoint: testEndpoint, Credential: cred}, m)
	asNetwork := &llm.Error{Code: llm.CodeUnavailable, Provider: ProviderName, Message: "request failed: " + doErr.Error(), Err: doErr}
	err := p.def.azureError(asNetwork, lookup(t, "azure-gpt-4o"))
	if !errors.Is(err, llm.ErrAuthentication) || !strings.Contains(err.Error(), "Could not get an Entra ID token") {
		t.Errorf("err = %v", err)
	}
}

// TestTokenWaitDeadline: a call whose deadline passes while the token is
// being fetched fails with a timeout, not an authentication error.
func TestTokenWaitDeadline(t *testing.T) {
	clock := newFakeClock()
	cred := &fakeCredential{clock: clock, life: time.Hour, gate: make(chan struct{})}
	defer close(cred.gate)
	p := newTestProvider(t, Config{Endpoint: testEndpoint, Credential: cred}, newMock(t, okReply))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := p.Generate(ctx, hello(lookup(t, "azure-gpt-4o")))
	if !errors.Is(err, llm.ErrTimeout) {
		t.Errorf("err = %v, want ErrTimeout", err)
	}
}
