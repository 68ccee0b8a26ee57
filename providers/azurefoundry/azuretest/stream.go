package azuretest

import (
	"strconv"
	"strings"
)

// The first event of every Azure stream: prompt annotations only, with the
// chunk fields empty (aoai_chat_stream_gpt4_2025-01-01-preview.sse).
var (
	streamPromptEvent = []byte(`data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":` + promptFilterResults + "}\n\n")
	streamDone        = []byte("data: [DONE]\n\n")
)

// SplitReply splits a reply into the content deltas the emulator streams:
// a new piece starts at every space, so "Echo: a b" streams as "Echo:",
// " a", " b". The pieces concatenate to text.
func SplitReply(text string) []string {
	var pieces []string
	start := 0
	for i := 1; i < len(text); i++ {
		if text[i] == ' ' {
			pieces = append(pieces, text[start:i])
			start = i
		}
	}
	if start < len(text) {
		pieces = append(pieces, text[start:])
	}
	return pieces
}

// stream writes rep as server-sent events and flushes after each one. It
// stops early when the client goes away. With stallAfter >= 0 it stalls
// (see Faults.RateStall) after that many content or tool-argument chunks,
// or before the finish chunk if the reply has fewer.
func (h *Handler) stream(x *exchange, m *responseMeta, rep *reply, includeUsage bool, stallAfter int) {
	startSSE(x, "text/event-stream", "must-revalidate, no-cache")
	ev := make([]byte, 0, 1024) // reused for every event
	// chunk renders one chat.completion.chunk event with the given choice JSON.
	chunk := func(choice func(b []byte) []byte) []byte {
		b := append(ev[:0], `data: {"choices":[`...)
		b = choice(b)
		b = append(b, `],"created":`...)
		b = strconv.AppendInt(b, m.created, 10)
		b = append(b, `,"id":`...)
		b = appendJSONString(b, m.id)
		b = append(b, `,"model":`...)
		b = appendJSONString(b, m.model)
		b = append(b, `,"object":"chat.completion.chunk","system_fingerprint":`...)
		b = appendJSONString(b, m.fingerprint)
		if includeUsage {
			b = append(b, `,"usage":null`...)
		}
		ev = append(b, "}\n\n"...)
		return ev
	}

	if !sendEvent(x, streamPromptEvent) {
		return
	}

	if rep.toolName != "" {
		// Tool call: the first delta carries role, id, type and name; the
		// arguments follow in pieces.
		if !sendEvent(x, chunk(func(b []byte) []byte {
			b = append(b, `{"content_filter_results":{},"delta":{"content":null,"role":"assistant","tool_calls":[{"function":{"arguments":"","name":`...)
			b = appendJSONString(b, rep.toolName)
			b = append(b, `},"id":`...)
			b = appendJSONString(b, rep.toolCallID)
			return append(b, `,"index":0,"type":"function"}]},"finish_reason":null,"index":0,"logprobs":null}`...)
		})) {
			return
		}
		for i, piece := range splitFixed(rep.toolArgs, 8) {
			if i == stallAfter {
				h.stall(x)
				return
			}
			if !sendEvent(x, chunk(func(b []byte) []byte {
				b = append(b, `{"content_filter_results":{},"delta":{"tool_calls":[{"function":{"arguments":`...)
				b = appendJSONString(b, piece)
				return append(b, `},"index":0}]},"finish_reason":null,"index":0,"logprobs":null}`...)
			})) {
				return
			}
		}
	} else {
		if !sendEvent(x, chunk(func(b []byte) []byte {
			return append(b, `{"content_filter_results":{},"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}`...)
		})) {
			return
		}
		// A filtered completion stops before the piece holding the word.
		stopAt := len(rep.text)
		if rep.filtered {
			stopAt = strings.Index(rep.text, h.completionWord)
		}
		off := 0
		for i, piece := range SplitReply(rep.text) {
			if off += len(piece); off > stopAt {
				break
			}
			if i == stallAfter {
				h.stall(x)
				return
			}
			if !sendEvent(x, chunk(func(b []byte) []byte {
				b = append(b, `{"content_filter_results":`+chunkFilterResults+`,"delta":{"content":`...)
				b = appendJSONString(b, piece)
				return append(b, `},"finish_reason":null,"index":0,"logprobs":null}`...)
			})) {
				return
			}
		}
	}

	if stallAfter >= 0 { // fewer chunks than stallAfter
		h.stall(x)
		return
	}
	if !sendEvent(x, chunk(func(b []byte) []byte {
		b = append(b, `{"content_filter_results":`...)
		if rep.filtered {
			b = append(b, filteredFilterResults...)
		} else {
			b = append(b, "{}"...)
		}
		b = append(b, `,"delta":{},"finish_reason":`...)
		b = appendJSONString(b, rep.finishReason)
		return append(b, `,"index":0,"logprobs":null}`...)
	})) {
		return
	}

	if includeUsage {
		// aoai_stream_include_usage_final_chunk.copilot-test.sse: empty
		// choices and the usage, after the finish chunk.
		b := append(ev[:0], `data: {"choices":[],"created":`...)
		b = strconv.AppendInt(b, m.created, 10)
		b = append(b, `,"id":`...)
		b = appendJSONString(b, m.id)
		b = append(b, `,"model":`...)
		b = appendJSONString(b, m.model)
		b = append(b, `,"object":"chat.completion.chunk","system_fingerprint":`...)
		b = appendJSONString(b, m.fingerprint)
		b = append(b, `,"usage":`...)
		b = appendUsage(b, m.prompt, rep)
		b = append(b, "}\n\n"...)
		if !sendEvent(x, b) {
			return
		}
	}
	sendEvent(x, streamDone)
}

// splitFixed cuts s into pieces of at most n bytes on rune boundaries.
func splitFixed(s string, n int) []string {
	var pieces []string
	for len(s) > n {
		cut := n
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		if cut == 0 {
			cut = n
		}
		pieces = append(pieces, s[:cut])
		s = s[cut:]
	}
	if s != "" {
		pieces = append(pieces, s)
	}
	return pieces
}
