package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandler(t *testing.T) {
	if err := (&Handler{}).Validate(); err == nil {
		t.Error("a ruche handler without name validates")
	}
	h := &Handler{Name: "test-handler"}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}

	rec := httptest.NewRecorder()
	if err := h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil), nil); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("unregistered: %d, want 503 with Retry-After", rec.Code)
	}

	Handle("test-handler", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	defer Handle("test-handler", nil)
	rec = httptest.NewRecorder()
	if err := h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil), nil); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusTeapot {
		t.Errorf("registered: %d, want 418", rec.Code)
	}
}
