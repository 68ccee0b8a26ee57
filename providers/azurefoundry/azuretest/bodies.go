package azuretest

import (
	"strconv"
	"unicode/utf8"
)

// Error bodies copied byte for byte from Azure recordings, documentation and
// public issue reports (see fixtures/azure/SOURCES.md in the repository). They are
// constants so the error paths allocate nothing.
var (
	// Returned for unknown paths and for a classic route without api-version.
	// The space after "message": is in the real body.
	bodyResourceNotFound = []byte(`{"error":{"code":"404","message": "Resource not found"}}`)

	// A dated api-version Azure does not serve, or a v1 version other than v1/preview.
	bodyAPIVersionNotSupported = []byte(`{"error":{"code":"BadRequest","message":"API version not supported"}}`)

	// fixture aoai_error_404_deployment_not_found.recording.json
	bodyDeploymentNotFound = []byte(`{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}`)

	// fixture aoai_error_401_invalid_key_stream.recording.json: a bad or
	// missing api-key. Note code is the string "401".
	bodyUnauthorizedKey = []byte(`{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}`)

	// A bad Entra ID bearer token: Azure answers with a different envelope.
	bodyUnauthorizedBearer = []byte(`{"statusCode":401,"message":"Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired."}`)

	// Reasoning models on a dated api-version older than 2024-12-01-preview.
	// "{modelName}" is literally in Azure's message.
	bodyReasoningAPIVersion = []byte(`{"error":{"code":"BadRequest","message":"Model {modelName} is enabled only for api versions 2024-12-01-preview and later"}}`)

	// fixture aoai_error_400_content_filter_prompt_chat.recording.json, verbatim
	// (including the \u0027 escape).
	bodyPromptFiltered = []byte(`{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI\u0027s content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"medium"}}}}}`)

	// The OpenAI upstream answer to a body that is not JSON.
	bodyMalformedJSON = openAIError("We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)", "invalid_request_error", "", "")

	bodyEmptyMessages = openAIError("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", "invalid_request_error", "messages", "empty_array")
)

// Constant JSON fragments of successful responses.
const (
	// Prompt annotations as in the o1 and v1 recordings (jailbreak included).
	promptAnnotations   = `{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}`
	promptFilterResults = `[{"prompt_index":0,"content_filter_results":` + promptAnnotations + `}]`

	// Choice annotations of a non-stream completion (o1 recording).
	choiceFilterResults = `{"hate":{"filtered":false,"severity":"safe"},"protected_material_code":{"filtered":false,"detected":false},"protected_material_text":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}`

	// Annotations on each streamed content chunk (both stream recordings).
	chunkFilterResults = `{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}`

	// A completion stopped by the completion filter word: Azure reports the
	// hit as a custom blocklist match, legacy array form, as in
	// aoai_chat_completion_finish_reason_content_filter_blocklist.doc.json.
	filteredFilterResults = `{"custom_blocklists":[{"filtered":true,"id":"` + BlocklistID + `"}],"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}`
)

// BlocklistID is the custom blocklist id reported when the completion filter
// word stops a completion.
const BlocklistID = "EmulatorBlocklist"

// openAIError builds the OpenAI-style envelope {message,type,param,code};
// empty strings become JSON null, as Azure sends them.
func openAIError(message, typ, param, code string) []byte {
	b := make([]byte, 0, len(message)+96)
	b = append(b, `{"error":{"message":`...)
	b = appendJSONString(b, message)
	b = append(b, `,"type":`...)
	b = appendNullableString(b, typ)
	b = append(b, `,"param":`...)
	b = appendNullableString(b, param)
	b = append(b, `,"code":`...)
	b = appendNullableString(b, code)
	return append(b, "}}"...)
}

func appendNullableString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendJSONString(b, s)
}

func unsupportedParameterBody(param string) []byte {
	msg := "Unsupported parameter: '" + param + "' is not supported with this model."
	if param == "max_tokens" {
		// fixture aoai_error_400_unsupported_parameter_max_tokens.issue.json
		msg = "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."
	}
	return openAIError(msg, "invalid_request_error", param, "unsupported_parameter")
}

// rateLimitBody is Azure's 429 body (fixture aoai_error_429_token_rate_limit.issue.json);
// kind is "token" or "call"; op is the operation ("" is ChatCompletions_Create).
func rateLimitBody(op, apiVersion, kind string, seconds int64) []byte {
	if op == "" {
		op = "ChatCompletions_Create"
	}
	b := make([]byte, 0, 320)
	b = append(b, `{"error":{"code":"429","message":"Requests to the `...)
	b = append(b, op...)
	b = append(b, ` Operation under Azure OpenAI API version `...)
	b = append(b, apiVersion...) // validated: [0-9a-z-] only
	b = append(b, " have exceeded "...)
	b = append(b, kind...)
	b = append(b, " rate limit of your current AIServices S0 pricing tier. Please retry after "...)
	b = strconv.AppendInt(b, seconds, 10)
	if seconds == 1 {
		b = append(b, " second."...)
	} else {
		b = append(b, " seconds."...)
	}
	return append(b, ` Please contact Azure support service if you would like to further increase the default rate limit."}}`...)
}

// serverErrorBody is the 500 (overloaded=false) or 503 body Azure passes
// through from the model server.
func serverErrorBody(overloaded bool, requestID string) []byte {
	msg := "The server had an error while processing your request. Sorry about that!"
	if overloaded {
		msg = "That model is currently overloaded with other requests."
	}
	msg += " You can retry your request, or contact us through an Azure support request at: https://go.microsoft.com/fwlink/?linkid=2213926 if the error persists. (Please include the request ID " + requestID + " in your message.)"
	return openAIError(msg, "server_error", "", "")
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal, escaping like
// encoding/json except that it does not HTML-escape (Azure does not either).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 break JavaScript consumers of SSE; escape them
		// as encoding/json does.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
