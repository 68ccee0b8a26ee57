package providertest

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/deluge-go/deluge/llm"
)

// The embeddings cases: providers implementing [llm.Embedder], with
// targets that name an [Target.EmbeddingModel]. Skipped otherwise.
var embedCases = []testCase{
	{"Embed/Vectors", "one request returns one vector per input, in input order, all of one length and unit-ish norm, the same input the same vector, different inputs different ones, with > 0 input tokens (and the backend's own vectors, with a VectorReplier)", testEmbedVectors},
	{"Embed/Dimensions", "a model that shortens vectors (SupportsDimensions) returns vectors of the requested size; one that does not refuses the request with CodeInvalidRequest", testEmbedDimensions},
	{"Embed/RequestNotMutated", "Embed leaves the request as it found it", testEmbedNotMutated},
	{"Embed/Attempts", "EmbedResponse.Attempts counts the requests the backend received (0 is read as 1)", testEmbedAttempts},
	{"Embed/Canceled", "a canceled context ends the call promptly with code canceled", testEmbedCanceled},
	{"Embed/Errors/BadKey", "a rejected credential is an *llm.Error with CodeAuthentication and StatusCode 401, without secrets", embedErrorCase(BadKey, llm.CodeAuthentication, 401)},
	{"Embed/Errors/UnknownModel", "an unknown model is an *llm.Error with CodeNotFound and StatusCode 404", embedErrorCase(UnknownModel, llm.CodeNotFound, 404)},
	{"Embed/Errors/RateLimited", "a 429 is an *llm.Error with CodeRateLimited, RetryAfter > 0, after one request (at most one per endpoint)", embedErrorCase(RateLimited, llm.CodeRateLimited, 429)},
}

// embedTarget returns a target in condition c whose provider embeds, or
// skips the case.
func embedTarget(t *testing.T, h Harness, c Condition) (Target, llm.Embedder) {
	t.Helper()
	tg := needTarget(t, h, c)
	e, ok := tg.Provider.(llm.Embedder)
	if !ok {
		t.Skip("provider does not implement llm.Embedder")
	}
	if tg.EmbeddingModel.ID == "" {
		t.Skip("the harness names no EmbeddingModel")
	}
	return tg, e
}

func embedRequest(tg Target, inputs ...string) *llm.EmbedRequest {
	return &llm.EmbedRequest{Model: tg.EmbeddingModel, Inputs: inputs}
}

func embed(t *testing.T, e llm.Embedder, req *llm.EmbedRequest) *llm.EmbedResponse {
	t.Helper()
	resp, err := e.Embed(callCtx(t), req)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	if resp == nil {
		t.Fatal("Embed returned a nil response and a nil error")
	}
	return resp
}

func testEmbedVectors(t *testing.T, h Harness) {
	tg, e := embedTarget(t, h, Healthy)
	inputs := []string{"The quick brown fox.", "jumps over", "the lazy dog", "jumps over"}
	before := requests(tg)
	resp := embed(t, e, embedRequest(tg, inputs...))
	if before >= 0 {
		if n := requests(tg) - before; n != 1 {
			t.Errorf("backend received %d requests for one Embed, want 1", n)
		}
	}
	if len(resp.Vectors) != len(inputs) {
		t.Fatalf("%d vectors for %d inputs", len(resp.Vectors), len(inputs))
	}
	for i, v := range resp.Vectors {
		if len(v) == 0 || len(v) != len(resp.Vectors[0]) {
			t.Fatalf("vector %d has %d dimensions, vector 0 %d", i, len(v), len(resp.Vectors[0]))
		}
		var sq float64
		for _, x := range v {
			sq += float64(x) * float64(x)
		}
		if n := math.Sqrt(sq); n < 0.5 || n > 1.5 {
			t.Errorf("vector %d has norm %.3f; embeddings are (close to) unit length", i, n)
		}
	}
	if !reflect.DeepEqual(resp.Vectors[1], resp.Vectors[3]) {
		t.Error("the same input got two different vectors")
	}
	if reflect.DeepEqual(resp.Vectors[0], resp.Vectors[1]) {
		t.Error("different inputs got the same vector")
	}
	if resp.Usage.InputTokens <= 0 {
		t.Errorf("Usage = %+v, want > 0 input tokens", resp.Usage)
	}
	if r, ok := tg.Backend.(VectorReplier); ok {
		for i, in := range inputs {
			want := r.ExpectedVector(tg.EmbeddingModel, in, 0)
			if !sameVector(resp.Vectors[i], want) {
				t.Errorf("vector %d differs from the backend's (first values %v, want %v)", i, head(resp.Vectors[i]), head(want))
			}
		}
	}
}

func sameVector(a []float32, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-6 {
			return false
		}
	}
	return true
}

func head(v []float32) []float32 { return v[:min(3, len(v))] }

func testEmbedDimensions(t *testing.T, h Harness) {
	tg, e := embedTarget(t, h, Healthy)
	req := embedRequest(tg, "shorter, please")
	req.Dimensions = 8
	resp, err := e.Embed(callCtx(t), req)
	if !tg.EmbeddingModel.SupportsDimensions && tg.EmbeddingModel.Dimensions > 0 {
		if llm.CodeOf(err) != llm.CodeInvalidRequest {
			t.Errorf("dimensions on a model without them: error %v, want CodeInvalidRequest", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	if len(resp.Vectors) != 1 || len(resp.Vectors[0]) != 8 {
		t.Fatalf("got %d vectors of %d dimensions, want 1 of 8", len(resp.Vectors), len(resp.Vectors[0]))
	}
	if r, ok := tg.Backend.(VectorReplier); ok && !sameVector(resp.Vectors[0], r.ExpectedVector(tg.EmbeddingModel, "shorter, please", 8)) {
		t.Error("the shortened vector differs from the backend's")
	}
}

func testEmbedNotMutated(t *testing.T, h Harness) {
	tg, e := embedTarget(t, h, Healthy)
	m := tg.EmbeddingModel
	m.Regions = map[string]float64{"region-a": 1}
	req := &llm.EmbedRequest{Model: m, Inputs: []string{"a", "b"}, User: "user-1"}
	want := &llm.EmbedRequest{Model: m.Clone(), Inputs: []string{"a", "b"}, User: "user-1"}
	embed(t, e, req)
	if !reflect.DeepEqual(req, want) {
		t.Errorf("Embed modified the request:\n got %+v\nwant %+v", req, want)
	}
}

func testEmbedAttempts(t *testing.T, h Harness) {
	tg, e := embedTarget(t, h, Healthy)
	before := requests(tg)
	if before < 0 {
		t.Skip("the target has no Backend to count requests")
	}
	resp := embed(t, e, embedRequest(tg, "count me"))
	if n := requests(tg) - before; n != max(resp.Attempts, 1) {
		t.Errorf("EmbedResponse.Attempts = %d, but the backend received %d requests", resp.Attempts, n)
	}
}

func testEmbedCanceled(t *testing.T, h Harness) {
	tg, e := embedTarget(t, h, Healthy)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var err error
	within(t, prompt, "Embed with a canceled context", func() {
		_, err = e.Embed(ctx, embedRequest(tg, "hi"))
	})
	if err == nil {
		t.Fatal("got no error from a canceled call")
	}
	if !errors.Is(err, context.Canceled) || llm.CodeOf(err) != llm.CodeCanceled {
		t.Errorf("error %v: want one matching context.Canceled with code canceled", err)
	}
	checkSecrets(t, tg, err)
}

func embedErrorCase(c Condition, code llm.Code, status int) func(*testing.T, Harness) {
	return func(t *testing.T, h Harness) {
		tg, e := embedTarget(t, h, c)
		before := requests(tg)
		start := time.Now()
		_, err := e.Embed(callCtx(t), embedRequest(tg, "hi"))
		if err == nil {
			t.Fatalf("got no error, want %s", code)
		}
		var le *llm.Error
		if !errors.As(err, &le) {
			t.Fatalf("error %T %v is not an *llm.Error", err, err)
		}
		if le.Code != code || le.StatusCode != status {
			t.Errorf("Code %q, StatusCode %d; want %q, %d (error: %v)", le.Code, le.StatusCode, code, status, err)
		}
		if le.Model != tg.EmbeddingModel.ID {
			t.Errorf("Error.Model = %q, want the model ID %q", le.Model, tg.EmbeddingModel.ID)
		}
		if code == llm.CodeRateLimited && le.RetryAfter <= 0 {
			t.Errorf("RetryAfter = %v, want > 0", le.RetryAfter)
		}
		if time.Since(start) > callTimeout/2 {
			t.Error("the provider waited before failing: retrying and pacing are the llm.Client's job")
		}
		if before >= 0 {
			if n, most := requests(tg)-before, endpoints(tg); n < 1 || n > most {
				t.Errorf("backend received %d requests for one Embed, want 1, or at most one per endpoint (%d)", n, most)
			}
		}
		checkSecrets(t, tg, err)
	}
}
