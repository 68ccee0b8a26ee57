package llm

import (
	"github.com/deluge-go/deluge/registry"
)

// Prepare builds the request the client would send for job, and returns it
// with the provider that serves it, without sending anything or taking any
// limit: the conversation is validated as [Client.Generate] validates it,
// the model is job.Model (resolved like [NewClient]'s model ID, with
// [WithProvider]) or else the client's primary model ([Client.Model]), and
// the sampling settings are the client's defaults with opts, then
// job.Options, applied over them. It does not route (no weights, no
// failover) and consults no cache.
//
// It is for code that delivers requests another way than one call at a
// time, such as a provider's batch API (package
// [github.com/deluge-go/deluge/batch]), so that a request goes out with the
// same model and options as it would through [Client.Process]. The provider
// is opened on first use, as for a call; errors are those a call would get
// before sending ([ErrClosed], an invalid option, a [CodeInvalidRequest]
// error for an invalid conversation, a provider that cannot be opened).
func (c *Client) Prepare(job Job, opts ...Option) (Provider, *Request, error) {
	if c.closed.Load() {
		return nil, nil, ErrClosed
	}
	o, err := c.callOptions(opts)
	if err != nil {
		return nil, nil, err
	}
	if o, err = o.with(job.Options); err != nil {
		return nil, nil, err
	}
	if err := job.Conversation.Validate(); err != nil {
		return nil, nil, &Error{Code: CodeInvalidRequest, Model: c.model.ID, Message: "invalid conversation: " + err.Error(), Err: err}
	}
	p, m, err := c.ModelProvider(job.Model)
	if err != nil {
		return nil, nil, err
	}
	return p, &Request{Model: m, Messages: job.Conversation.Messages(), Sampling: o.sampling.Clone()}, nil
}

// ModelProvider returns the model the client resolves id to and the
// provider instance serving it: the registered provider (opened on first
// use) or the one given with [WithProviderInstance]. An empty id means the
// client's primary model ([Client.Model]). It is what [Client.Prepare]
// uses; code that manages a provider's other resources for a model (batch
// jobs, files) calls it directly.
func (c *Client) ModelProvider(id string) (Provider, registry.Model, error) {
	if c.closed.Load() {
		return nil, registry.Model{}, ErrClosed
	}
	if id == "" {
		id = c.model.ID
	}
	t, err := c.targetFor(id)
	if err != nil {
		return nil, registry.Model{}, err
	}
	p, err := t.provider()
	if err != nil {
		return nil, registry.Model{}, err
	}
	return p, t.model.Clone(), nil
}
