package conversation

import "unicode/utf8"

// Token estimate constants. They follow OpenAI's published guidance: about
// four characters of English per token, a few tokens of framing per message,
// and a flat cost per image (a 1024×1024 image at high detail is 765 tokens;
// at low detail 85).
const (
	tokensPerMessage   = 4
	tokensReplyPriming = 3
	tokensImageHigh    = 765
	tokensImageLow     = 85
	tokensToolCall     = 8
)

// EstimateTokens returns a quick, deterministic estimate of the prompt tokens
// the conversation will cost. It is the heuristic used to pace requests under
// a tokens-per-minute limit before the server reports real usage:
//
//   - ASCII text: one token per four bytes, rounded up;
//   - other text: one token per non-ASCII character (CJK scripts are close to
//     one token per character; accented Latin text is overestimated, which
//     errs on the safe side for rate limiting);
//   - 4 tokens of framing per message and 3 for the reply's priming;
//   - images: 85 tokens at "low" detail, 765 otherwise; files: by size of
//     their inline data as text;
//   - tool calls and results: their text plus 8 tokens.
//
// The estimate is usually within 10–20% of a real tokenizer for English.
func (c *Conversation) EstimateTokens() int {
	if c == nil {
		return 0
	}
	return EstimateMessageTokens(c.messages)
}

// EstimateMessageTokens is EstimateTokens for a message list.
func EstimateMessageTokens(msgs []Message) int {
	if len(msgs) == 0 {
		return 0
	}
	n := tokensReplyPriming
	for _, m := range msgs {
		n += tokensPerMessage + EstimateTextTokens(m.Name)
		for _, p := range m.Parts {
			n += estimatePart(p)
		}
	}
	return n
}

func estimatePart(p Part) int {
	switch p.Type {
	case PartText:
		return EstimateTextTokens(p.Text)
	case PartImage:
		if p.Detail == "low" {
			return tokensImageLow
		}
		return tokensImageHigh
	case PartFile:
		return (len(p.Data)+3)/4 + EstimateTextTokens(p.URL)
	case PartToolCall:
		if p.ToolCall == nil {
			return 0
		}
		return tokensToolCall + EstimateTextTokens(p.ToolCall.Name) + EstimateTextTokens(p.ToolCall.Arguments)
	case PartToolResult:
		if p.ToolResult == nil {
			return 0
		}
		return tokensToolCall + EstimateTextTokens(p.ToolResult.Content)
	}
	return 0
}

// EstimateTextTokens estimates the tokens of a piece of text with the rule
// documented on EstimateTokens.
func EstimateTextTokens(s string) int {
	ascii, other := 0, 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			ascii++
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		other++
		i += size
	}
	return (ascii+3)/4 + other
}
