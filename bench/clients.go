package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	oaigo "github.com/openai/openai-go/v3"
	oaigoazure "github.com/openai/openai-go/v3/azure"
	oaigooption "github.com/openai/openai-go/v3/option"
	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
)

// Every client sends the same request to the same URL: the classic Azure
// route of deployment gpt-4o at a dated api-version, one user message and
// max_tokens. All three authenticate with an api-key header.
const (
	benchKey        = "bench-key"
	benchModelID    = "azure-gpt-4o" // deluge's catalog ID
	benchDeployment = "gpt-4o"       // the deployment (and the emulator's default)
	benchAPIVersion = "2024-10-21"
	benchMaxTokens  = 1024
	// memEndpoint is the endpoint the wire-free clients are configured
	// with; memDoer answers in its place.
	memEndpoint = "https://bench-resource.openai.azure.com"
)

// benchPrompt is the recorded request's prompt.
const benchPrompt = "Count to 10, with a comma between each number, no newlines and a period at the end. E.g., 1, 2, 3, ..."

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// newPooledTransport is the transport the baselines use over loopback: the
// default transport with a pool sized above the concurrency, as deluge's
// providers build their own.
func newPooledTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 0
	t.MaxIdleConnsPerHost = 512
	t.IdleConnTimeout = 90 * time.Second
	return t
}

// delugeConfig describes a deluge client for a figure.
type delugeConfig struct {
	endpoint   string
	apiVersion string             // "" = benchAPIVersion
	httpClient *http.Client       // nil: the provider's own pooled transport
	opts       []llm.ClientOption // after the defaults below
}

// newDeluge returns an llm.Client on the azure-foundry provider. By default
// it has no rate limits (the engine still runs them, unlimited), no cache,
// no progress display and a silent logger, and asks for benchMaxTokens.
func newDeluge(cfg delugeConfig) (*llm.Client, *azurefoundry.Provider, error) {
	v := cfg.apiVersion
	if v == "" {
		v = benchAPIVersion
	}
	p, err := azurefoundry.New(azurefoundry.Config{
		Endpoint:   cfg.endpoint,
		APIKey:     benchKey,
		APIVersion: v,
		HTTPClient: cfg.httpClient,
		Logger:     quietLogger,
	})
	if err != nil {
		return nil, nil, err
	}
	opts := append([]llm.ClientOption{
		llm.WithProviderInstance(p),
		llm.WithMaxRequestsPerMinute(-1),
		llm.WithMaxTokensPerMinute(-1),
		llm.WithLogger(quietLogger),
		llm.WithMaxNewTokens(benchMaxTokens),
	}, cfg.opts...)
	c, err := llm.NewClient(benchModelID, opts...)
	if err != nil {
		p.Close()
		return nil, nil, err
	}
	return c, p, nil
}

// newGoOpenAI returns a raw go-openai client with an Azure ClientConfig for
// the classic route (api-version benchAPIVersion, deployment = model).
func newGoOpenAI(endpoint string, hc *http.Client) *goopenai.Client {
	cc := goopenai.DefaultAzureConfig(benchKey, endpoint)
	cc.APIVersion = benchAPIVersion
	cc.AzureModelMapperFunc = func(model string) string { return model }
	cc.HTTPClient = hc
	return goopenai.NewClientWithConfig(cc)
}

// newOpenAIGo returns an openai-go client configured with its azure
// options, SDK retries off (the other two do not retry either).
func newOpenAIGo(endpoint string, hc *http.Client, loopback bool) oaigo.Client {
	opts := []oaigooption.RequestOption{
		oaigoazure.WithEndpoint(endpoint, benchAPIVersion),
		oaigoazure.WithAPIKey(benchKey),
		oaigooption.WithHTTPClient(hc),
		oaigooption.WithMaxRetries(0),
	}
	if loopback {
		opts = append(opts, oaigoazure.WithUnsafeAllowHTTP())
	}
	return oaigo.NewClient(opts...)
}

// A caller makes one chat completion and returns the reply text.
type caller struct {
	name string
	call func(ctx context.Context, prompt string) (string, error)
}

func delugeCaller(c *llm.Client) caller {
	return caller{"deluge", func(ctx context.Context, prompt string) (string, error) {
		r, err := c.Generate(ctx, conversation.New().User(prompt))
		if err != nil {
			return "", err
		}
		return r.Completion, nil
	}}
}

func goOpenAICaller(c *goopenai.Client) caller {
	return caller{"goopenai", func(ctx context.Context, prompt string) (string, error) {
		r, err := c.CreateChatCompletion(ctx, goOpenAIRequest(prompt, benchMaxTokens))
		if err != nil {
			return "", err
		}
		if len(r.Choices) == 0 {
			return "", errors.New("no choices")
		}
		return r.Choices[0].Message.Content, nil
	}}
}

func goOpenAIRequest(prompt string, maxTokens int) goopenai.ChatCompletionRequest {
	return goopenai.ChatCompletionRequest{
		Model:     benchDeployment,
		Messages:  []goopenai.ChatCompletionMessage{{Role: goopenai.ChatMessageRoleUser, Content: prompt}},
		MaxTokens: maxTokens,
	}
}

func openAIGoCaller(c oaigo.Client) caller {
	return caller{"openaigo", func(ctx context.Context, prompt string) (string, error) {
		r, err := c.Chat.Completions.New(ctx, oaigo.ChatCompletionNewParams{
			Model:     benchDeployment,
			Messages:  []oaigo.ChatCompletionMessageParamUnion{oaigo.UserMessage(prompt)},
			MaxTokens: oaigo.Int(benchMaxTokens),
		})
		if err != nil {
			return "", err
		}
		if len(r.Choices) == 0 {
			return "", errors.New("no choices")
		}
		return r.Choices[0].Message.Content, nil
	}}
}

// clientSet is the three clients over one HTTP path.
type clientSet struct {
	deluge, goopenai, openaigo caller
	close                      func()
}

func (s clientSet) all() []caller { return []caller{s.deluge, s.goopenai, s.openaigo} }

// memClients returns the three clients over a memDoer answering body.
func memClients(body []byte) (clientSet, error) {
	doer := newMemDoer(body, "application/json")
	hc := func() *http.Client { return &http.Client{Transport: doer} }
	dc, p, err := newDeluge(delugeConfig{endpoint: memEndpoint, httpClient: hc()})
	if err != nil {
		return clientSet{}, err
	}
	return clientSet{
		deluge:   delugeCaller(dc),
		goopenai: goOpenAICaller(newGoOpenAI(memEndpoint, hc())),
		openaigo: openAIGoCaller(newOpenAIGo(memEndpoint, hc(), false)),
		close:    func() { p.Close() },
	}, nil
}

// loopbackClients returns the three clients against an emulator at url,
// each with its own pooled transport (deluge: the provider's own).
func loopbackClients(url string) (clientSet, error) {
	dc, p, err := newDeluge(delugeConfig{endpoint: url})
	if err != nil {
		return clientSet{}, err
	}
	gt, ot := newPooledTransport(), newPooledTransport()
	return clientSet{
		deluge:   delugeCaller(dc),
		goopenai: goOpenAICaller(newGoOpenAI(url, &http.Client{Transport: gt})),
		openaigo: openAIGoCaller(newOpenAIGo(url, &http.Client{Transport: ot}, true)),
		close: func() {
			p.Close()
			gt.CloseIdleConnections()
			ot.CloseIdleConnections()
		},
	}, nil
}

// checkReply fails unless every caller gets want (or, with want "", the
// same non-empty reply as the first).
func checkReply(ctx context.Context, callers []caller, prompt, want string) error {
	for _, c := range callers {
		got, err := c.call(ctx, prompt)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		if want == "" {
			want = got
		}
		if got == "" || got != want {
			return fmt.Errorf("%s: reply %.40q, want %.40q", c.name, got, want)
		}
	}
	return nil
}
