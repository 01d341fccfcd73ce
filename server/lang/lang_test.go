package lang

import (
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"English", "Thanks for your message. The invoice is attached, and we will send the rest of the order on Monday if that is all right with you.", "en"},
		{"French", "Nous vous informons que certaines conditions de la convention de services seront modifiées à compter du 1er janvier. Aucune action n'est requise de votre part.", "fr"},
		{"German", "Sehr geehrte Damen und Herren, die Rechnung für den Monat Oktober ist nicht angekommen. Bitte senden Sie sie uns noch einmal mit der Bestellnummer.", "de"},
		{"Spanish", "Estimado cliente, le enviamos la factura del mes de octubre. Si tiene alguna pregunta sobre el pedido, por favor contacte con nosotros. Muchas gracias.", "es"},
		{"Italian", "Buongiorno, vi invio in allegato la fattura del mese di ottobre. Per qualsiasi domanda sono a disposizione, grazie e buona giornata a tutti.", "it"},
		{"Portuguese", "Olá, segue em anexo a fatura do mês de outubro. Se você tiver alguma dúvida sobre o pedido, por favor entre em contato com a nossa equipe. Obrigado.", "pt"},
		{"Dutch", "Beste klant, hierbij ontvangt u de factuur van de maand oktober. Als u vragen heeft over de bestelling, neem dan contact met ons op. Met vriendelijke groet.", "nl"},
		{"Danish", "Hej Mette, tak for din mail. Jeg har sendt fakturaen til jer i går, og den skal betales inden fredag. Ring til mig hvis der er noget. Venlig hilsen Lars", "da"},
		{"Swedish", "Hej Anna, tack för ditt mejl. Jag har skickat fakturan till er i går och den ska betalas före fredag. Ring mig om det är något. Vänliga hälsningar", "sv"},
		{"Finnish", "Hei Mikko, kiitos viestistäsi. Lähetin laskun teille eilen ja se on maksettava ennen perjantaita. Soita minulle jos on kysyttävää, niin katsotaan se yhdessä. Terveisin Anna", "fi"},
		{"Polish", "Dzień dobry, w załączniku przesyłam fakturę za październik. Jeśli są pytania, proszę o kontakt. Nie ma pośpiechu, to jest tylko do wiadomości. Pozdrawiam", "pl"},
		{"Turkish", "Mehmet Bey merhaba, Kasım dönemi güncel fiyat listemiz ekte bilgilerinize sunulmuştur. Fiyatlarımız 15.11.2026 tarihine kadar verilecek siparişler için geçerlidir; lot ile ilgili test raporunu aldık. İyi çalışmalar dileriz.", "tr"},
		{"Indonesian", "Selamat siang Bapak, terima kasih atas email Anda. Kami sudah mengirim faktur untuk bulan ini dan mohon dicek. Jika ada pertanyaan, silakan hubungi saya.", "id"},
		{"Malay", "Selamat pagi Encik Ahmad, terima kasih atas emel tuan. Kami sudah hantar invois untuk bulan ini. Sila semak dan jika ada sebarang soalan, boleh hubungi saya.", "ms"},
		{"Vietnamese", "Kính gửi Quý khách, FPT Telecom xin thông báo hóa đơn cước Internet tháng 11 của Quý khách đã được phát hành. Vui lòng thanh toán trước ngày 25 để không bị gián đoạn dịch vụ. Trân trọng cảm ơn.", "vi"},
		{"Russian", "Здравствуйте! Спасибо за письмо. Я отправил вам счёт, и если что-то не так, напишите мне, пожалуйста. Это не срочно. С уважением, Иван", "ru"},
		{"Japanese", "お世話になっております。先日ご依頼いただいた見積書を添付いたします。ご確認のほどよろしくお願いいたします。", "ja"},
		{"Chinese", "您好，附件是十月份的发票，请查收。如有任何问题，请随时与我们联系。谢谢！", "zh"},
		{"Korean", "안녕하세요. 지난번에 요청하신 견적서를 첨부합니다. 확인 부탁드립니다. 감사합니다.", "ko"},
		{"Greek", "Καλημέρα σας, σας στέλνουμε το τιμολόγιο του Οκτωβρίου. Ευχαριστούμε πολύ.", "el"},
		{"too short", "Thanks, see you", ""},
		{"no words", "1234 5678 ---- http://example.com/", ""},
		{"half and half", "The invoice is attached and we will send the rest of the order. Nous vous informons que la convention de services sera modifiée pour vous et vos entreprises.", ""},
	}
	for _, tt := range tests {
		if got := Detect(tt.text); got != tt.want {
			t.Errorf("%s: Detect = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestDetectCut: a text cut at the bound inside a letter is read up to the
// letter before.
func TestDetectCut(t *testing.T) {
	text := strings.Repeat("Nous vous informons que la convention est modifiée. ", 100)
	if got := Detect(text); got != "fr" {
		t.Errorf("Detect = %q, want fr", got)
	}
}

// TestStopwordsLowerCase: every listed word is lower case and short, as
// Detect looks them up, and every language has room in its counts.
func TestStopwordsLowerCase(t *testing.T) {
	if len(languages) > len(counts{}.hits) {
		t.Fatalf("%d languages, room for %d", len(languages), len(counts{}.hits))
	}
	for l, ws := range stopwords {
		for _, w := range ws {
			if strings.ToLower(w) != w || len(w) > maxStopword {
				t.Errorf("%s: %q is not lower case, or longer than %d bytes", l, w, maxStopword)
			}
		}
	}
}

func FuzzDetect(f *testing.F) {
	for _, s := range []string{"Thanks for your message, the invoice is attached.", "お世話になっております", "\xff\xfe", strings.Repeat("é", 3000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if l := Detect(s); l != "" && len(l) != 2 {
			t.Fatalf("Detect(%q) = %q", s, l)
		}
	})
}

// TestDetectTexts: texts are read as if joined by a line break, within
// ScanBytes in all.
func TestDetectTexts(t *testing.T) {
	fr := strings.Repeat("Bonjour, nous vous écrivons pour la réunion de la semaine. ", 100)
	en := strings.Repeat("Thanks for the notes, we will have them ready for you. ", 100)
	for _, tt := range [][2]string{
		{"Réunion", fr},
		{"Meeting", en},
		{en[:4094], fr},
		{en[:4095], fr},
		{fr[:ScanBytes+10], en},
		{"", ""},
	} {
		joined := tt[0] + "\n" + tt[1]
		if got, want := Detect(tt[0], tt[1]), Detect(joined); got != want {
			t.Errorf("Detect(%.20q, %.20q) = %q, Detect(joined) = %q", tt[0], tt[1], got, want)
		}
	}
}
