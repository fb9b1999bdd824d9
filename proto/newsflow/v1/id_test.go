package newsflowv1

import "testing"

func TestArticleID(t *testing.T) {
	a := ArticleID("https://example.com/a")
	if a != ArticleID("https://example.com/a") {
		t.Fatal("id is not stable")
	}
	if a == ArticleID("https://example.com/b") {
		t.Fatal("different URLs share an id")
	}
	// Cross-checked against Python's uuid.uuid5(uuid.NAMESPACE_URL, ...).
	if want := "6639460f-3425-5329-8097-a58f06127860"; a != want {
		t.Fatalf("ArticleID = %q, want %q", a, want)
	}
}
