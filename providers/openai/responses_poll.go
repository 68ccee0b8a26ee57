package openai

import (
	"context"
	"net/http"

	"github.com/deluge-go/deluge/llm"
)

var _ llm.Poller = (*Provider)(nil)

// Poll fetches the state of a background response (GET
// responses/{id}, llm.Poller): the complete llm.Response once done, the
// pending one (Status "queued" or "in_progress") before, or the error of a
// response that failed or was cancelled on the server. It sends one
// request.
func (p *Provider) Poll(ctx context.Context, req *llm.Request, pending *llm.Response) (*llm.Response, error) {
	ep, st, le := p.storedRequest(ctx, req, pending, http.MethodGet, "")
	if le != nil {
		return nil, le
	}
	defer putState(st)
	return p.responsesReply(req, ep, st)
}

// Cancel asks the server to stop a background response (POST
// responses/{id}/cancel, llm.Poller). Canceling one already done is not
// an error.
func (p *Provider) Cancel(ctx context.Context, req *llm.Request, pending *llm.Response) error {
	_, st, le := p.storedRequest(ctx, req, pending, http.MethodPost, "/cancel")
	if le != nil {
		return le
	}
	putState(st)
	return nil
}

// storedRequest sends one request about the stored response pending
// names, and returns its state (the caller puts it back) with the body
// read, or the error.
func (p *Provider) storedRequest(ctx context.Context, req *llm.Request, pending *llm.Response, method, suffix string) (*endpoint, *callState, *llm.Error) {
	if req == nil || pending == nil || pending.ResponseID == "" {
		m := ""
		if req != nil {
			m = req.Model.ID
		}
		return nil, nil, &llm.Error{Code: llm.CodeInvalidRequest, Provider: p.name, Model: m, Message: "no response ID to poll or cancel"}
	}
	ep, le := p.endpointOf(req.Model)
	if le != nil {
		return nil, nil, le
	}
	st := getState()
	resp, err := ep.raw.do(ctx, st, method, ep.raw.itemURL(pending.ResponseID, suffix), nil)
	if err != nil {
		le := p.httpFailure(ctx, req.Model, ep, st, err)
		putState(st)
		return nil, nil, le
	}
	resp.Body.Close()
	return ep, st, nil
}
