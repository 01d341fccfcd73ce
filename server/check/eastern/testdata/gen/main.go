// Command gen writes the synthetic Eastern-language messages of
// ../ (run: go run . ..). They are committed; rerun only to change them.
package main

import (
	"encoding/base64"
	"fmt"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

func enc(e encoding.Encoding, s string) []byte {
	b, err := e.NewEncoder().Bytes([]byte(s))
	if err != nil {
		panic(err)
	}
	return b
}

func b64lines(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > 76 {
		out.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	out.WriteString(s + "\r\n")
	return out.String()
}

func qp(b []byte) string {
	var sb strings.Builder
	w := quotedprintable.NewWriter(&sb)
	w.Write(b)
	w.Close()
	return sb.String()
}

func word(cs string, e encoding.Encoding, s string) string {
	return "=?" + cs + "?B?" + base64.StdEncoding.EncodeToString(enc(e, s)) + "?="
}

func hdr(from, to, subj, date, id string) string {
	return "Return-Path: <" + strings.Trim(from[strings.LastIndex(from, "<")+1:], "<>") + ">\r\n" +
		"Received: from mail.example.net (mail.example.net [192.0.2.25])\r\n\tby mx.example.org (Postfix) with ESMTP id 4F2A81C0\r\n\tfor <" + to + ">; " + date + "\r\n" +
		"From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subj + "\r\nDate: " + date + "\r\nMessage-ID: <" + id + ">\r\nMIME-Version: 1.0\r\n"
}

func write(dir, name, s string) {
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
		panic(err)
	}
	fmt.Println("wrote", filepath.Join(dir, name))
}

func main() {
	dir := os.Args[1]
	date := "Tue, 14 Oct 2025 09:12:44 +0800"
	zh := "尊敬的客户，您好！本公司专业代开各类发票，税点优惠，欢迎来电咨询。联系人：王先生，电话：13800138000。诚信经营，保证真票，可先验后付款。"
	zhT := "親愛的朋友您好！本公司提供最優惠的網路行銷服務，一次發送百萬封電子郵件，效果顯著，價格合理，歡迎來信洽詢。"
	ja := "お世話になっております。このたび、新しい出会い系サイトをオープンしました。今なら無料でポイントを差し上げます。ぜひご登録ください。"
	ko := "안녕하세요. 저렴한 가격으로 대출을 도와드립니다. 신용등급에 상관없이 누구나 신청 가능합니다. 지금 바로 연락주세요."
	th := "สวัสดีครับ เรามีสินค้าราคาพิเศษสำหรับคุณ สั่งซื้อวันนี้รับส่วนลดทันที ติดต่อเราได้ตลอดยี่สิบสี่ชั่วโมง"

	write(dir, "chinese-gb2312.eml", hdr("\"Wang\" <sales@fapiao-service.example.cn>", "user@example.org", word("gb2312", simplifiedchinese.GBK, "代开发票 税点优惠"), date, "20251014091244.12345@fapiao-service.example.cn")+
		"Content-Type: text/plain; charset=\"gb2312\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"+b64lines(enc(simplifiedchinese.GBK, zh)))
	write(dir, "chinese-big5.eml", hdr("\"Marketing\" <mkt@ads.example.tw>", "user@example.org", word("big5", traditionalchinese.Big5, "網路行銷 百萬電子郵件"), date, "A1B2C3D4.5678@ads.example.tw")+
		"Content-Type: text/html; charset=big5\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"+qp(enc(traditionalchinese.Big5, "<html><body><p>"+zhT+"</p></body></html>")))
	write(dir, "japanese-iso2022jp.eml", hdr("info@deai.example.jp", "user@example.org", word("ISO-2022-JP", japanese.ISO2022JP, "無料ポイント進呈のお知らせ"), date, "20251014.0001@deai.example.jp")+
		"Content-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"+string(enc(japanese.ISO2022JP, ja))+"\r\n")
	write(dir, "japanese-shiftjis.eml", hdr("info@deai.example.jp", "user@example.org", word("shift_jis", japanese.ShiftJIS, "ご登録のお願い"), date, "20251014.0002@deai.example.jp")+
		"Content-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: base64\r\n\r\n"+b64lines(enc(japanese.ShiftJIS, ja)))
	write(dir, "japanese-eucjp.eml", hdr("info@deai.example.jp", "user@example.org", word("euc-jp", japanese.EUCJP, "新しいサイト"), date, "20251014.0003@deai.example.jp")+
		"Content-Type: text/plain; charset=EUC-JP\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"+string(enc(japanese.EUCJP, ja))+"\r\n")
	write(dir, "korean-euckr.eml", hdr("loan@daechul.example.kr", "user@example.org", word("ks_c_5601-1987", korean.EUCKR, "(광고) 저금리 대출 안내"), date, "000801c2$4f3a2b10$0100a8c0@daechul")+
		"Content-Type: text/plain; charset=\"ks_c_5601-1987\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"+b64lines(enc(korean.EUCKR, ko)))
	write(dir, "thai-tis620.eml", hdr("promo@shop.example.co.th", "user@example.org", "=?TIS-620?B?"+base64.StdEncoding.EncodeToString(enc(charmap.Windows874, "สินค้าราคาพิเศษ"))+"?=", date, "promo.778899@shop.example.co.th")+
		"Content-Type: text/plain; charset=TIS-620\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"+string(enc(charmap.Windows874, th))+"\r\n")
	write(dir, "chinese-charset-only.eml", hdr("news@mailer.example.cn", "user@example.org", "Monthly newsletter", date, "n.1@mailer.example.cn")+
		"Content-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: 7bit\r\n\r\nHello, this issue is in English only. See you next month.\r\n")
}
