package imghash

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"golang.org/x/image/draw"
)

// picture draws a spam-like banner: coloured blocks and stripes.
func picture(seed int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 320, 200))
	for y := 0; y < 200; y++ {
		for x := 0; x < 320; x++ {
			v := uint8((x*seed/3 + y*7) % 256)
			if (x/40+y/50+seed)%2 == 0 {
				v = 255 - v/3
			}
			img.Set(x, y, color.RGBA{v, uint8(x), uint8((y * seed) % 256), 255})
		}
	}
	return img
}

// other draws something unlike picture: concentric rings.
func other() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 320, 200))
	for y := 0; y < 200; y++ {
		for x := 0; x < 320; x++ {
			dx, dy := x-160, y-100
			v := uint8(((dx*dx + dy*dy) / 300) * 40 % 256)
			img.Set(x, y, color.RGBA{v, v, 255 - v, 255})
		}
	}
	return img
}

func encode(t *testing.T, f string, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch f {
	case "png":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 60})
	case "gif":
		err = gif.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReencodedImageMatches(t *testing.T) {
	orig := picture(3)
	known, err := Of(encode(t, "png", orig))
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex([]Hash{known})
	half := image.NewRGBA(image.Rect(0, 0, 160, 100))
	draw.ApproxBiLinear.Scale(half, half.Bounds(), orig, orig.Bounds(), draw.Src, nil)
	cases := []struct {
		name  string
		data  []byte
		match bool
	}{
		{"same png", encode(t, "png", orig), true},
		{"re-encoded as jpeg", encode(t, "jpeg", orig), true},
		{"re-encoded as gif", encode(t, "gif", orig), true},
		{"resized to half, jpeg", encode(t, "jpeg", half), true},
		{"another picture", encode(t, "png", other()), false},
	}
	for _, c := range cases {
		h, err := Of(c.data)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		d := ix.Nearest(h)
		if (d <= MaxDistance) != c.match {
			t.Errorf("%s: distance %d, want match=%v", c.name, d, c.match)
		}
	}
}

func TestRefusals(t *testing.T) {
	flat := image.NewRGBA(image.Rect(0, 0, 100, 100))
	tiny := picture(3).SubImage(image.Rect(0, 0, 8, 8))
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"flat", encode(t, "png", flat), ErrFlat},
		{"tiny", encode(t, "png", tiny), ErrFlat},
		{"not an image", []byte("hello"), ErrUnsupported},
		{"truncated", encode(t, "png", picture(2))[:200], ErrUnsupported},
	}
	for _, c := range cases {
		if _, err := Of(c.data); err == nil || !errorsIs(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func errorsIs(err, target error) bool {
	for e := err; e != nil; {
		if e == target {
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

func TestMarshalRoundTrip(t *testing.T) {
	enc := Marshal([]Hash{5, 1, 5})
	got, err := Unmarshal(enc)
	if err != nil || len(got) != 2 || got[0] != 1 {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := Unmarshal(enc[:len(enc)-1]); err == nil {
		t.Error("truncated list accepted")
	}
}

func FuzzOf(f *testing.F) {
	var buf bytes.Buffer
	png.Encode(&buf, picture(1).SubImage(image.Rect(0, 0, 20, 20)))
	f.Add(buf.Bytes())
	f.Add([]byte("GIF89a"))
	f.Fuzz(func(t *testing.T, b []byte) {
		Of(b)
	})
}
