package azurefoundry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/deluge-go/deluge/internal/fixture"
	"github.com/deluge-go/deluge/llm"
)

// Fuzz targets for what this package reads from users (endpoints,
// resource names, API versions, deployment types, region weights,
// AZURE_DEPLOYMENT_* variables) and from servers (every reply, through
// the whole provider, Azure's error messages included). They are seeded
// from fixtures/azure and the documented forms; `go test` runs the seeds
// (and testdata/fuzz) as ordinary tests, scripts/fuzz.sh runs the fuzzers.

// FuzzParseEndpoint: an accepted endpoint is HTTPS unless loopback, on an
// Azure host unless custom hosts are allowed or it is loopback, carries no
// credentials or query, and parses again to itself.
func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{
		"https://my-resource.openai.azure.com", "https://my-resource.openai.azure.com/openai/v1/", "http://127.0.0.1:8080",
		"http://[::1]:9000", "http://[::ffff:127.0.0.1]:1", "http://app.localhost:1", "https://user:pw@x.openai.azure.com",
		"https://apim.contoso.com/aoai", "https://openai.azure.com.evil.com", "http://localhost%2f@evil.com", "https://x.openai.azure.com?k=v",
		"HTTPS://X.OPENAI.AZURE.COM:443/openai", "https://x.openai.azure.com#frag", " https://x.services.ai.azure.com ",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, custom bool) {
		ep, err := parseEndpoint(raw, custom)
		if err != nil {
			return
		}
		u, perr := url.Parse(ep.base)
		if perr != nil {
			t.Fatalf("base %q does not parse: %v", ep.base, perr)
		}
		host := strings.ToLower(u.Hostname())
		switch {
		case u.User != nil || u.RawQuery != "" || u.Fragment != "":
			t.Fatalf("%q accepted with credentials, query or fragment: %q", raw, ep.base)
		case u.Scheme != "https" && !isLoopback(host):
			t.Fatalf("%q accepted over %s to %q", raw, u.Scheme, host)
		case !custom && !isLoopback(host) && !isAzureHost(host):
			t.Fatalf("%q accepted for non-Azure host %q", raw, host)
		case ep.loopback != isLoopback(host):
			t.Fatalf("%q: loopback %v for %q", raw, ep.loopback, host)
		}
		again, err := parseEndpoint(ep.base, custom)
		if err != nil || again != ep {
			t.Fatalf("%q -> %+v, which parses to %+v, %v", raw, ep, again, err)
		}
	})
}

var resourceNameRule = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?$`)

// FuzzResourceName: ValidateResourceName accepts exactly Azure's rule, and
// the endpoint built from an accepted name passes the endpoint checks.
func FuzzResourceName(f *testing.F) {
	for _, s := range []string{"my-resource", "my_res!", "a", "ab", "-ab", "ab-", strings.Repeat("a", 64), strings.Repeat("a", 65),
		"x.openai.azure.com", "résumé", "a b", "a/b", "a@b", "a%2fb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := ValidateResourceName(name)
		if ok := len(name) >= 2 && resourceNameRule.MatchString(name); ok != (err == nil) {
			t.Fatalf("ValidateResourceName(%q) = %v, rule says %v", name, err, ok)
		}
		if err != nil {
			return
		}
		raw, err := resourceEndpoint(name)
		if err != nil {
			t.Fatal(err)
		}
		if ep, err := parseEndpoint(raw, false); err != nil || ep.resource != strings.ToLower(name) {
			t.Fatalf("%q -> %q -> %+v, %v", name, raw, ep, err)
		}
	})
}

// FuzzParseAPIVersion: an accepted version is v1, preview or a dated one
// (YYYY-MM-DD, optionally -preview) with a valid month and day.
func FuzzParseAPIVersion(f *testing.F) {
	for _, s := range []string{"", "v1", "preview", "2024-10-21", "2025-04-01-preview", "2024-13-01", "2024-10", "latest", " v1 ", "2024-02-30"} {
		f.Add(s)
	}
	dated := regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(-preview)?$`)
	f.Fuzz(func(t *testing.T, v string) {
		mode, query, err := parseAPIVersion(v)
		if err != nil {
			if !strings.Contains(err.Error(), "is not valid") {
				t.Fatalf("unclear error: %v", err)
			}
			return
		}
		switch tv := strings.TrimSpace(v); {
		case tv == "" || tv == APIVersionV1:
			if mode != modeV1 || query != "" {
				t.Fatalf("%q: %v %q", v, mode, query)
			}
		case tv == APIVersionPreview:
			if mode != modeV1 || query != APIVersionPreview {
				t.Fatalf("%q: %v %q", v, mode, query)
			}
		default:
			if mode != modeClassic || query != tv || !dated.MatchString(tv) {
				t.Fatalf("%q accepted as %v %q", v, mode, query)
			}
		}
	})
}

// FuzzParseDeploymentType: a parsed type is valid, prints as itself, parses
// back to itself, and prices within the known range.
func FuzzParseDeploymentType(f *testing.F) {
	for _, s := range []string{"", "Global Standard", "DataZone", "batch", "data_zone_batch", "regional", "ptu", "GLOBAL-batch"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		typ, err := ParseDeploymentType(s)
		if err != nil {
			return
		}
		if !typ.valid() {
			t.Fatalf("%q parsed to invalid %q", s, typ)
		}
		if again, err := ParseDeploymentType(typ.String()); err != nil || again != typ {
			t.Fatalf("%q -> %q -> %q, %v", s, typ, again, err)
		}
		if m, b := typ.Multiplier(), typ.BatchMultiplier(); m < 1 || m > 1.1 || b != m/2 {
			t.Fatalf("%q: multipliers %v %v", typ, m, b)
		}
	})
}

// FuzzRegionWeights: accepted weights are one finite, non-negative number
// per region.
func FuzzRegionWeights(f *testing.F) {
	for _, c := range [][2]string{{"eastus,westus", "0.7,0.3"}, {"eastus", "1,2"}, {"a,b", "1,NaN"}, {"a,,b", "1e308,1e308"},
		{" eastus , ", "-0"}, {"a,b", "Inf,1"}, {"a", "0x1p-2"}, {"a", "1_000"}} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, list, ws string) {
		names := parseRegionList(list)
		for _, n := range names {
			if n == "" || n != strings.TrimSpace(n) || strings.Contains(n, ",") {
				t.Fatalf("region name %q from %q", n, list)
			}
		}
		weights, err := parseWeights(ws, names)
		if err != nil || weights == nil {
			return
		}
		if len(weights) != len(names) {
			t.Fatalf("%d weights for %d regions", len(weights), len(names))
		}
		for _, w := range weights {
			if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
				t.Fatalf("weight %v accepted from %q", w, ws)
			}
		}
	})
}

// FuzzDeploymentVariables: any set of AZURE_DEPLOYMENT_* variables is
// resolved without a panic; aliases only ever name catalog models, and
// every variable that names no model is reported.
func FuzzDeploymentVariables(f *testing.F) {
	f.Add("AZURE_DEPLOYMENT_GPT4O=prod\nAZURE_DEPLOYMENT_GPT4O_MINI=mini\nAZURE_DEPLOYMENT_NAME=x")
	f.Add("AZURE_DEPLOYMENT_AZURE_GPT_4_1=a\nAZURE_DEPLOYMENT_GPT_4_1=b\nAZURE_DEPLOYMENT_=c\nAZURE_DEPLOYMENT_Ω=d")
	f.Add("PATH=/bin\nAZURE_DEPLOYMENT_O3MINI= \nAZURE_DEPLOYMENT_DEEPSEEK_R1=r1")
	f.Fuzz(func(t *testing.T, environ string) {
		env := deploymentsFromEnv(strings.Split(environ, "\n"))
		var logs bytes.Buffer
		aliases := envAliases(env, slog.New(slog.NewTextHandler(&logs, nil)))
		for id, d := range aliases {
			if _, ok := catalogByID[id]; !ok || d == "" {
				t.Fatalf("alias for %q = %q", id, d)
			}
		}
		if len(env) > len(aliases) && logs.Len() == 0 {
			// Every variable is an exact ID, an alias, or reported.
			for k := range env {
				exact := false
				for id := range catalogByID {
					exact = exact || EnvKey(id) == k
				}
				if _, ok := catalogAliases()[compactKey(k)]; !ok && !exact {
					t.Fatalf("AZURE_DEPLOYMENT_%s matched nothing and was not reported", k)
				}
			}
		}
	})
}

// fuzzRoundTripper answers every request with one canned response.
type fuzzRoundTripper struct {
	status int
	body   []byte
	header http.Header
}

func (rt fuzzRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{StatusCode: rt.status, Header: rt.header.Clone(), Body: io.NopCloser(bytes.NewReader(rt.body)),
		ContentLength: -1, Request: req}, nil
}

// FuzzAzureReply: any status and body through the whole Azure provider
// (Generate and Stream, both URL families) give a response or an
// *llm.Error, never a panic, and never the key, even when echoed.
func FuzzAzureReply(f *testing.F) {
	const key = "azure-fuzz-key-0123456789abcdef"
	for _, s := range fixture.Seeds(f) {
		switch s.Kind {
		case fixture.SeedResponse:
			f.Add(max(s.Status, 200), false, s.Body)
		case fixture.SeedStream:
			f.Add(200, true, s.Body)
		}
	}
	f.Add(400, false, []byte(`{"error":{"code":"OperationNotSupported","message":"`+key+`"}}`))
	f.Add(307, true, []byte(nil))
	f.Fuzz(func(t *testing.T, status int, stream bool, body []byte) {
		if status < 100 || status > 999 {
			status = 200
		}
		h := http.Header{"Apim-Request-Id": {key}, "Content-Type": {"application/json"}, "Location": {"https://elsewhere.example/" + key}}
		if stream {
			h.Set("Content-Type", "text/event-stream")
		}
		for _, version := range []string{"v1", "2024-10-21"} {
			p, err := New(Config{Endpoint: testEndpoint, APIKey: key, APIVersion: version, DeploymentType: GlobalBatch,
				Logger: quietLogger, HTTPClient: &http.Client{Transport: fuzzRoundTripper{status, body, h}}})
			if err != nil {
				t.Fatal(err)
			}
			req := hello(lookup(t, "azure-o3"))
			var outs []any
			if stream {
				for c, err := range p.Stream(context.Background(), req) {
					outs = append(outs, c, err)
				}
			} else {
				resp, err := p.Generate(context.Background(), req)
				if (resp == nil) == (err == nil) {
					t.Fatalf("resp %v, err %v", resp, err)
				}
				outs = append(outs, resp, err)
			}
			for _, o := range outs {
				var s string
				switch o := o.(type) {
				case *llm.Error:
					if o == nil {
						continue
					}
					s = o.Error() + fmt.Sprintf("%+v %v", o.Err, o.Header)
				case error:
					t.Fatalf("error %T is not an *llm.Error: %v", o, o)
				case *llm.Response:
					if o == nil {
						continue
					}
					b, _ := json.Marshal(o)
					s = string(b) + fmt.Sprint(o.Header)
				case *llm.Chunk:
					if o == nil {
						continue
					}
					b, _ := json.Marshal(o)
					s = string(b) + fmt.Sprint(o.Header)
				}
				if strings.Contains(s, key) {
					t.Fatalf("the key leaked: %s", s)
				}
			}
		}
	})
}
