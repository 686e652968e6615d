package api

import (
	"errors"
	"net/http"
)

// APICode makes *Error a CodedError, so a backend can return &Error{...} directly and an error
// received by the Client passes through another server with its code intact.
func (e *Error) APICode() string { return e.Code }

// ErrDaemonNotRunning is wrapped by client errors that mean nobody is listening at the API address.
var ErrDaemonNotRunning = errors.New("daemon is not running")

// HTTPStatus is the status the server sends for an error code.
func HTTPStatus(code string) int {
	switch code {
	case CodeBadRequest, CodeBadCap:
		return http.StatusBadRequest
	case CodeNotFound:
		return http.StatusNotFound
	case CodeTooFewNodes, CodeTooFewShards:
		return http.StatusServiceUnavailable
	case CodeUnauthorized:
		return http.StatusUnauthorized
	default:
		return http.StatusInternalServerError
	}
}

// codeFromStatus guesses a code for an error response that carried no JSON body (e.g. a proxy's).
func codeFromStatus(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusLengthRequired,
		http.StatusRequestEntityTooLarge, http.StatusForbidden:
		return CodeBadRequest
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusUnauthorized:
		return CodeUnauthorized
	default:
		return CodeInternal
	}
}

// toAPIError gives any backend error a code; uncoded errors are internal.
func toAPIError(err error) *Error {
	var ce CodedError
	if errors.As(err, &ce) {
		return &Error{Code: ce.APICode(), Message: err.Error()}
	}
	return &Error{Code: CodeInternal, Message: err.Error()}
}
