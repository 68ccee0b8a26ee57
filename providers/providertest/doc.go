// Package providertest is the conformance suite every deluge provider runs,
// in the spirit of [testing/slogtest] and gocloud's drivertest: one call,
// [Run], exercises the [llm.Provider] contract (and [llm.Streamer], when
// the provider implements it) against a backend the provider's tests
// control.
//
// Each case has a name and a one-line explanation that is printed when it
// fails, so a provider author learns which promise was broken:
//
//   - a plain request gets a text reply, finish reason "stop", the model's ID;
//   - the system message reaches the backend first, and a multi-turn
//     conversation arrives in order (with a Recorder);
//   - tool calls and tool results round-trip;
//   - the streamed deltas concatenate to the text Generate returns;
//   - breaking out of a stream releases the connection (with an InFlighter);
//   - usage is reported;
//   - the Request is not modified;
//   - cancellation and deadlines end calls promptly with matching errors;
//   - 401, 404 and 429 become *llm.Error with the right code, the 429 with
//     RetryAfter > 0, secrets absent from messages, and one backend request
//     per call (one per endpoint at most, for a provider that fails over
//     between endpoints, such as Azure's regions: see MultiEndpoint);
//   - Response.Attempts counts the requests the backend received, and a
//     provider that fails over does so at once when an endpoint fails
//     (the FailingOver condition);
//   - 50 goroutines can share the provider (run with -race);
//   - for a provider implementing [llm.Embedder] whose targets name an
//     [Target.EmbeddingModel]: one request returns one vector per input,
//     in order, consistent and (with a [VectorReplier]) the backend's own;
//     dimensions are honoured or refused; errors and attempts as above.
//
// A provider that serves a model through more than one wire API (OpenAI's
// and Azure's chat completions and Responses API) declares them with
// [WithAPIs] (or an [APIs] harness): every request case then runs again
// on each, under a subtest named after it ("responses/Generate/PlainText"),
// the requests naming it in [llm.Sampling.API].
//
// A harness hands the suite a provider and a model wired to a fresh backend
// in a requested Condition. Optional abilities (recording messages,
// predicting replies, counting open requests) are optional interfaces on
// the Backend, found by type assertion; cases that need an absent one are
// skipped with a message saying what is missing.
//
// # Using it for a new provider
//
// A third-party provider that speaks some HTTP API tests itself against a
// fake of that API:
//
//	func TestConformance(t *testing.T) {
//		providertest.Run(t, providertest.HarnessFunc(func(t *testing.T, c providertest.Condition) (providertest.Target, bool) {
//			if c == providertest.CallsTool {
//				return providertest.Target{}, false // the fake cannot
//			}
//			backend := newFakeAPI(t, c) // an httptest.Server; counts requests
//			p, err := myprovider.New(myprovider.Config{BaseURL: backend.URL, APIKey: "test-key"})
//			if err != nil {
//				t.Fatal(err)
//			}
//			model := registry.Model{ID: "my-model", Provider: "myprovider", Name: "my-model"}
//			if c == providertest.UnknownModel {
//				model.Name = "no-such-model"
//			}
//			return providertest.Target{Provider: p, Model: model, Backend: backend, Secrets: []string{"test-key"}}, true
//		}))
//	}
package providertest
