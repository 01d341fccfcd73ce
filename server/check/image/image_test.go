package image

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/server/contentdb"
	"github.com/scilla-mail/scilla/server/contentdb/contentdbtest"
	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/imghash"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/policy"
)

// banner draws a picture with bands of text-like blocks, as image spam has.
func banner(shift int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 300, 120))
	for y := 0; y < 120; y++ {
		for x := 0; x < 300; x++ {
			c := color.RGBA{250, 250, 240, 255}
			if (y/15)%2 == 1 && ((x+shift)/9)%3 != 0 {
				c = color.RGBA{uint8(200 - y), 20, uint8(x / 2), 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

func message_(t *testing.T, img []byte, ctype string) []byte {
	return messageText(t, "see the picture", img, ctype)
}

// messageText is a message of text and one image.
func messageText(t *testing.T, text string, img []byte, ctype string) []byte {
	var b strings.Builder
	b.WriteString("From: a@example.net\r\nSubject: look\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\n" + text + "\r\n--XX\r\n")
	b.WriteString("Content-Type: " + ctype + "\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(img)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--XX--\r\n")
	return []byte(b.String())
}

func TestReencodedSpamImageMatches(t *testing.T) {
	var pngBuf, jpgBuf, otherBuf bytes.Buffer
	png.Encode(&pngBuf, banner(0))
	jpeg.Encode(&jpgBuf, banner(0), &jpeg.Options{Quality: 55})
	img := image.NewRGBA(image.Rect(0, 0, 200, 200))
	for y := 0; y < 200; y++ {
		for x := 0; x < 200; x++ {
			img.Set(x, y, color.Gray{uint8((x*x + y*y) / 300)})
		}
	}
	jpeg.Encode(&otherBuf, img, nil)
	h, err := imghash.Of(pngBuf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	db := contentdbtest.DB(t, "t", map[string][]byte{contentdb.ImagesFile: imghash.Marshal([]imghash.Hash{h})})
	cases := []struct {
		name  string
		raw   []byte
		match bool
	}{
		{"known image re-encoded as JPEG", message_(t, jpgBuf.Bytes(), "image/jpeg"), true},
		// A long text: the parser does not search its image for a QR
		// code, so the check decodes the image itself.
		{"known image in a long message", messageText(t, strings.Repeat("a newsletter with many words ", 100), jpgBuf.Bytes(), "image/jpeg"), true},
		{"another image", message_(t, otherBuf.Bytes(), "image/jpeg"), false},
		{"broken image", message_(t, jpgBuf.Bytes()[:300], "image/jpeg"), false},
	}
	for _, c := range cases {
		in := &engine.Input{ScanID: "t", Msg: message.Parse(c.raw, message.DefaultLimits), Env: &engine.Envelope{}, Group: policy.Default().All(), DB: db}
		if len(in.Msg.Images) != 1 {
			t.Fatalf("%s: parser found %d images", c.name, len(in.Msg.Images))
		}
		// Short messages' images are decoded by the parser (QR codes).
		if c.match && (in.Msg.Images[0].Pixels == nil) != (in.Msg.Words > 300) {
			t.Fatalf("%s: %d words, pixels kept: %v", c.name, in.Msg.Words, in.Msg.Images[0].Pixels != nil)
		}
		r, err := New().Run(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(r.Signs) == 1 && r.Signs[0].Name == "IMAGE_SPAM"; got != c.match {
			t.Errorf("%s: signs %v, want match=%v", c.name, r.Signs, c.match)
		}
	}
}
