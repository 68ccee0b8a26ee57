package azuretest

// Response header names in canonical form, assigned directly to the header
// map on the hot path to skip net/http's per-call canonicalization. Azure
// sends them lower-case; HTTP header names are case-insensitive.
const (
	hdrApimRequestID                 = "Apim-Request-Id"
	hdrCacheControl                  = "Cache-Control"
	hdrContentType                   = "Content-Type"
	hdrMsAzuremlModelErrorReason     = "Ms-Azureml-Model-Error-Reason"
	hdrMsAzuremlModelErrorStatuscode = "Ms-Azureml-Model-Error-Statuscode"
	hdrRetryAfter                    = "Retry-After"
	hdrRetryAfterMs                  = "Retry-After-Ms"
	hdrXMsClientRequestID            = "X-Ms-Client-Request-Id"
	hdrXMsDeploymentName             = "X-Ms-Deployment-Name"
	hdrXMsRaiInvoked                 = "X-Ms-Rai-Invoked"
	hdrXMsRegion                     = "X-Ms-Region"
	hdrXRatelimitLimitRequests       = "X-Ratelimit-Limit-Requests"
	hdrXRatelimitLimitTokens         = "X-Ratelimit-Limit-Tokens"
	hdrXRatelimitRemainingRequests   = "X-Ratelimit-Remaining-Requests"
	hdrXRatelimitRemainingTokens     = "X-Ratelimit-Remaining-Tokens"
	hdrXRequestID                    = "X-Request-Id"
)
