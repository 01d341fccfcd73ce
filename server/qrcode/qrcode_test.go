package qrcode

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"
)

// picture returns a w×h light picture with a QR code of text at (x, y),
// side pixels wide: what a phishing mail attaches.
func picture(t testing.TB, text string, w, h, x, y, side int) image.Image {
	t.Helper()
	code, err := gozxingqr.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, side, side, nil)
	if err != nil {
		t.Fatal(err)
	}
	canvas := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(canvas, canvas.Bounds(), &image.Uniform{color.RGBA{236, 240, 248, 255}}, image.Point{}, draw.Src)
	draw.Draw(canvas, image.Rect(x, y, x+side, y+side), code, image.Point{}, draw.Src)
	return canvas
}

func encode(t testing.TB, img image.Image, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "jpeg":
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 70})
	case "gif":
		err = gif.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRead(t *testing.T) {
	const link = "https://m365-mfa-renew.example/session?u=8837261"
	noise := image.NewGray(image.Rect(0, 0, 300, 200))
	for i := range noise.Pix {
		noise.Pix[i] = byte(i * 7919 % 251)
	}
	for _, tc := range []struct {
		name string
		img  []byte
		want string
	}{
		{"png", encode(t, picture(t, link, 640, 480, 200, 120, 220), "png"), link},
		{"jpeg at quality 70", encode(t, picture(t, link, 640, 480, 200, 120, 220), "jpeg"), link},
		{"gif", encode(t, picture(t, link, 400, 300, 100, 50, 180), "gif"), link},
		{"the code alone", encode(t, picture(t, "WIFI:S:guest;T:WPA;P:x;;", 120, 120, 0, 0, 120), "png"), "WIFI:S:guest;T:WPA;P:x;;"},
		{"no code", encode(t, noise, "png"), ""},
		{"an icon", encode(t, picture(t, link, 32, 32, 0, 0, 32), "png"), ""},
		{"not an image", []byte("GIF89a broken"), ""},
	} {
		got, err := Read(tc.img)
		if got != tc.want || (tc.want != "") != (err == nil) {
			t.Errorf("%s: Read = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if _, err := Read(encode(t, noise, "png")); !errors.Is(err, ErrNone) {
		t.Errorf("no code: err %v, want ErrNone", err)
	}
}

// FuzzRead: any bytes as an image, without a panic.
func FuzzRead(f *testing.F) {
	f.Add(encode(f, picture(f, "https://x.example/a", 100, 100, 10, 10, 80), "png"))
	f.Add(encode(f, picture(f, "https://x.example/a", 100, 100, 10, 10, 80), "gif"))
	f.Fuzz(func(t *testing.T, b []byte) {
		Read(b)
	})
}

// BenchmarkRead: one 640×480 picture with a code, and one without.
func BenchmarkRead(b *testing.B) {
	with := encode(b, picture(b, "https://x.example/a", 640, 480, 200, 120, 220), "png")
	blank := image.NewRGBA(image.Rect(0, 0, 640, 480))
	draw.Draw(blank, blank.Bounds(), &image.Uniform{color.RGBA{236, 240, 248, 255}}, image.Point{}, draw.Src)
	plain := encode(b, blank, "png")
	for _, bc := range []struct {
		name string
		img  []byte
	}{{"code", with}, {"none", plain}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				Read(bc.img)
			}
		})
	}
}
