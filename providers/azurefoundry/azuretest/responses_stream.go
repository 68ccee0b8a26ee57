package azuretest

import (
	"strconv"
)

// streamResponse writes a response as the Responses API's semantic events,
// each "event: <type>" and "data: {...}" with a sequence_number from 0:
// response.created, response.in_progress, then per output item
// response.output_item.added, its content events (reasoning summary parts
// and text; output_text content part and deltas; function call argument
// deltas) and response.output_item.done, and last response.completed or
// response.incomplete. No "[DONE]" follows, as on OpenAI's API. Events with
// a sequence number up to after are skipped (resuming a stream); with
// stallAfter >= 0 the stream stalls after that many deltas (see
// Faults.RateStall). failure "response.failed" ends the stream with that
// event (the response failed with server_error), "error" with an error
// event (model overloaded).
func (h *Handler) streamResponse(x *exchange, r *storedResponse, after, stallAfter int, failure string) {
	startSSE(x, "text/event-stream", "no-cache")
	ev := make([]byte, 0, 1024) // reused for every event
	seq := 0
	send := func(typ string, fields func(b []byte) []byte) bool {
		n := seq
		seq++
		if n <= after {
			return true
		}
		b := append(ev[:0], "event: "...)
		b = append(b, typ...)
		b = append(b, "\ndata: {\"type\":"...)
		b = appendJSONString(b, typ)
		b = append(b, `,"sequence_number":`...)
		b = strconv.AppendInt(b, int64(n), 10)
		if fields != nil {
			b = fields(b)
		}
		ev = append(b, "}\n\n"...)
		return sendEvent(x, ev)
	}
	snapshot := func(status string) func([]byte) []byte {
		return func(b []byte) []byte {
			b = append(b, `,"response":`...)
			return r.appendJSONStatus(b, status)
		}
	}
	itemRef := func(b []byte, id string, idx int) []byte {
		b = append(b, `,"item_id":`...)
		b = appendJSONString(b, id)
		b = append(b, `,"output_index":`...)
		return strconv.AppendInt(b, int64(idx), 10)
	}

	created := "in_progress"
	if r.background {
		created = "queued"
	}
	if !send("response.created", snapshot(created)) || !send("response.in_progress", snapshot("in_progress")) {
		return
	}
	switch failure {
	case "response.failed":
		send("response.failed", snapshot("failed"))
		return
	case "error":
		send("error", func(b []byte) []byte {
			b = append(b, `,"code":"server_error","message":`...)
			b = appendJSONString(b, "That model is currently overloaded with other requests. You can retry your request.")
			return append(b, `,"param":null`...)
		})
		return
	}
	r.mu.Lock()
	final := r.status
	r.mu.Unlock()
	if final != "completed" && final != "incomplete" {
		final = r.final
	}
	if final == "cancelled" {
		return
	}

	deltas := 0
	stalls := func() bool {
		if deltas == stallAfter {
			h.stall(x)
			return true
		}
		deltas++
		return false
	}
	for idx, k := range r.items() {
		item := func(done bool) func([]byte) []byte {
			return func(b []byte) []byte {
				b = append(b, `,"output_index":`...)
				b = strconv.AppendInt(b, int64(idx), 10)
				b = append(b, `,"item":`...)
				return r.appendItem(b, k, done)
			}
		}
		if !send("response.output_item.added", item(false)) {
			return
		}
		switch k {
		case itemReasoning:
			if r.summary != "" {
				part := func(text string) func([]byte) []byte {
					return func(b []byte) []byte {
						b = itemRef(b, r.rsID, idx)
						b = append(b, `,"summary_index":0,"part":{"type":"summary_text","text":`...)
						return append(appendJSONString(b, text), '}')
					}
				}
				if !send("response.reasoning_summary_part.added", part("")) ||
					!send("response.reasoning_summary_text.delta", func(b []byte) []byte {
						b = itemRef(b, r.rsID, idx)
						b = append(b, `,"summary_index":0,"delta":`...)
						return appendJSONString(b, r.summary)
					}) ||
					!send("response.reasoning_summary_text.done", func(b []byte) []byte {
						b = itemRef(b, r.rsID, idx)
						b = append(b, `,"summary_index":0,"text":`...)
						return appendJSONString(b, r.summary)
					}) ||
					!send("response.reasoning_summary_part.done", part(r.summary)) {
					return
				}
			}
		case itemFunctionCall:
			for _, piece := range splitFixed(r.rep.toolArgs, 8) {
				if stalls() {
					return
				}
				if !send("response.function_call_arguments.delta", func(b []byte) []byte {
					b = itemRef(b, r.fcID, idx)
					b = append(b, `,"delta":`...)
					return appendJSONString(b, piece)
				}) {
					return
				}
			}
			if !send("response.function_call_arguments.done", func(b []byte) []byte {
				b = itemRef(b, r.fcID, idx)
				b = append(b, `,"arguments":`...)
				return appendJSONString(b, r.rep.toolArgs)
			}) {
				return
			}
		case itemMessage:
			text := r.msgText()
			part := func(text string) func([]byte) []byte {
				return func(b []byte) []byte {
					b = itemRef(b, r.msgID, idx)
					b = append(b, `,"content_index":0,"part":{"type":"output_text","annotations":[],"text":`...)
					return append(appendJSONString(b, text), '}')
				}
			}
			if !send("response.content_part.added", part("")) {
				return
			}
			for _, piece := range SplitReply(text) {
				if stalls() {
					return
				}
				if !send("response.output_text.delta", func(b []byte) []byte {
					b = itemRef(b, r.msgID, idx)
					b = append(b, `,"content_index":0,"delta":`...)
					b = appendJSONString(b, piece)
					return append(b, `,"logprobs":[]`...)
				}) {
					return
				}
			}
			if !send("response.output_text.done", func(b []byte) []byte {
				b = itemRef(b, r.msgID, idx)
				b = append(b, `,"content_index":0,"text":`...)
				b = appendJSONString(b, text)
				return append(b, `,"logprobs":[]`...)
			}) || !send("response.content_part.done", part(text)) {
				return
			}
		}
		if !send("response.output_item.done", item(true)) {
			return
		}
	}
	if stallAfter >= 0 { // fewer deltas than stallAfter
		h.stall(x)
		return
	}
	if final == "incomplete" {
		send("response.incomplete", snapshot("incomplete"))
		return
	}
	send("response.completed", snapshot("completed"))
}
