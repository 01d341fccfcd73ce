package imghash

import (
	"bytes"
	"image/jpeg"
	"testing"
)

// A JPEG cut short still gets a signature close to the whole image's.
func TestTruncatedJPEG(t *testing.T) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, picture(3), &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	whole, err := Of(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	cut := buf.Bytes()[:buf.Len()*95/100]
	h, err := Of(cut)
	if err != nil {
		t.Fatalf("truncated JPEG refused: %v", err)
	}
	if d := Distance(whole, h); d > MaxDistance {
		t.Errorf("distance %d between whole and truncated", d)
	}
}
