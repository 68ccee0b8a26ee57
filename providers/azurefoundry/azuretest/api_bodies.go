package azuretest

import (
	"strconv"
	"strings"
)

// Error bodies of the files, batches, responses and embeddings routes.
// docs/emulator.md lists the source of each; where no Azure body is public
// the wording is the emulator's own, in Azure's envelope, and says so there.

// azureError is Azure's data-plane envelope {"error":{"code","message"}}, as
// in the files quota error of Azure/azure-sdk-for-java#47401.
func azureError(code, message string) []byte {
	b := make([]byte, 0, len(message)+48)
	b = append(b, `{"error":{"code":`...)
	b = appendJSONString(b, code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, message)
	return append(b, "}}"...)
}

// operationNotSupportedBody is Azure's 400 for an operation the deployment's
// model does not serve ("The chatCompletion operation does not work with the
// specified model, o3-mini. ..." — BerriAI/litellm#9122 for a batch
// deployment called synchronously, openai/openai-python#800 for a model
// without chat). The model is named without its version.
func operationNotSupportedBody(op, model string) []byte {
	name := map[string]string{opChat: "chatCompletion", opResponses: "responses", opEmbeddings: "embeddings"}[op]
	return azureError("OperationNotSupported", "The "+name+" operation does not work with the specified model, "+baseModelName(model)+". Please choose different model and try again. You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993.")
}

// baseModelName strips a version suffix: "gpt-4o-2024-11-20" → "gpt-4o",
// "gpt-35-turbo-0125" → "gpt-35-turbo".
func baseModelName(model string) string {
	isDigits := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return s != ""
	}
	if n := len(model); n > 11 && model[n-11] == '-' && model[n-6] == '-' && model[n-3] == '-' &&
		isDigits(model[n-10:n-6]+model[n-5:n-3]+model[n-2:]) {
		return model[:n-11]
	}
	if i := strings.LastIndexByte(model, '-'); i > 0 && len(model)-i == 5 && isDigits(model[i+1:]) {
		return model[:i]
	}
	return model
}

// Messages of the batch validation errors, from the error-code table of
// Microsoft Learn's batch how-to (definition and advice joined, as in the
// documented empty_file body).
const (
	msgInvalidJSONLine = "A line (or multiple) in your input file wasn't able to be parsed as valid json. Please ensure no typos, proper opening and closing brackets, and quotes as per JSON standard, and resubmit the request."
	msgTooManyTasks    = "The number of requests in the input file exceeds the maximum allowed value of 100,000. Please ensure your total requests are under 100,000 and resubmit the job."
	msgURLMismatch     = "Either a row in your input file has a URL that doesn’t match the rest of the rows, or the URL specified in the input file doesn’t match the expected endpoint URL. Please ensure all request URLs are the same, and that they match the endpoint URL associated with your Azure OpenAI deployment."
	msgModelNotFound   = "The Azure OpenAI model deployment name that was specified in the model property of the input file wasn't found. Please ensure this name points to a valid Azure OpenAI model deployment."
	msgDuplicateID     = "The custom ID for this request is a duplicate of the custom ID in another request."
	msgModelMismatch   = "The Azure OpenAI model deployment name that was specified in the model property of this request in the input file doesn't match the rest of the file. Please ensure that all requests in the batch point to the same Azure OpenAI in Foundry Models model deployment in the model property of the request."
	msgInvalidRequest  = "The schema of the input line is invalid or the deployment SKU is invalid. Please ensure the properties of the request in your input file match the expected input properties, and that the Azure OpenAI deployment SKU is globalbatch for batch API requests."
	// Verbatim from the documented failed batch, spaces included.
	msgEmptyFile = "The input file is empty. Please ensure that the batch contains at least one   request."
	// The generic message Microsoft documents for a UTF-8-BOM file.
	msgBOM = "Validation failed: A valid model deployment name couldn't be extracted from the input file. Please ensure that each row in the input file has a valid deployment name specified in the 'model' field, and that the deployment name is consistent across all rows."
	// Not in Microsoft's table; the emulator's wording.
	msgCompletionWindow = "The completion window must be '24h'."
)

// Batch error codes (Microsoft Learn, batch how-to, "Error codes").
const (
	codeInvalidJSONLine    = "invalid_json_line"
	codeTooManyTasks       = "too_many_tasks"
	codeURLMismatch        = "url_mismatch"
	codeModelNotFound      = "model_not_found"
	codeDuplicateCustomID  = "duplicate_custom_id"
	codeModelMismatch      = "model_mismatch"
	codeInvalidRequest     = "invalid_request"
	codeEmptyFile          = "empty_file"
	codeTokenLimitExceeded = "token_limit_exceeded"
)

// tokenLimitMessage is Azure's token_limit_exceeded message, as a user
// reported it (learn.microsoft.com/answers/questions/2285577): "The number
// of enqueued tokens has surpassed the configured limit of 30K for the
// deployment 'gpt-4.1-batch'. ...".
func tokenLimitMessage(limit int64, deployment string) string {
	return "The number of enqueued tokens has surpassed the configured limit of " + shortCount(limit) + " for the deployment '" + deployment + "'. Please either increase the limit or try again once the current jobs have finished."
}

// shortCount writes round counts as Azure's quota tables do: 30K, 200M, 5B.
func shortCount(n int64) string {
	for _, u := range []struct {
		div    int64
		suffix string
	}{{1e9, "B"}, {1e6, "M"}, {1e3, "K"}} {
		if n >= u.div && n%u.div == 0 {
			return strconv.FormatInt(n/u.div, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// Per-line errors of lines a batch did not run (OpenAI's batch output
// error codes; Azure documents none).
const (
	msgBatchExpired   = "This request could not be executed before the completion window expired."
	msgBatchCancelled = "This request was not executed because the batch was cancelled."
)

// tooManyInputsBody is Azure's embeddings 400 for too many inputs, as users
// reported it with the earlier limits of 1 and 16 (langchain-ai/langchainjs#1506,
// Mintplex-Labs/anything-llm#184), with today's limit.
func tooManyInputsBody(limit int) []byte {
	return openAIError("Too many inputs. The max number of inputs is "+strconv.Itoa(limit)+".  We hope to increase the number of inputs per request soon. Please contact us through an Azure support request at: https://go.microsoft.com/fwlink/?linkid=2213926 for further questions.", "invalid_request_error", "", "")
}
