package api

import (
	_ "embed"
	"net/http"
)

//go:embed openapi.json
var openAPI []byte

// OpenAPI serves the API's OpenAPI 3 description (openapi.json beside this
// file), for GET /openapi.json.
func OpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(openAPI) //nolint:errcheck // the client has gone; nothing to do
	})
}
