// The strict XML reader behind the WeChat adapter: what it reads, and everything it refuses.
#include "teller/channels/wechat.hpp"

#include <gtest/gtest.h>

#include <string>

namespace teller::channels {
namespace {

constexpr std::string_view kTextMessage =
    "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
    "<FromUserName><![CDATA[oUser_AbC-123]]></FromUserName>"
    "<CreateTime>1348831860</CreateTime>"
    "<MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[查询余额]]></Content>"
    "<MsgId>1234567890123456</MsgId></xml>";

// The reason parse_xml gives for `doc`, or "" when it parsed.
std::string refusal(std::string_view doc, const XmlLimits& limits = {}) {
    XmlResult r = parse_xml(doc, limits);
    EXPECT_EQ(r.root.has_value(), r.error.empty());
    return r.error;
}

TEST(WechatXmlTest, ReadsAFlatWechatMessage) {
    XmlResult r = parse_xml(kTextMessage);
    ASSERT_TRUE(r.root) << r.error;
    EXPECT_EQ(r.root->name, "xml");
    ASSERT_EQ(r.root->children.size(), 6u);
    EXPECT_EQ(r.root->child("ToUserName")->text, "gh_0123456789ab");
    EXPECT_EQ(r.root->child("FromUserName")->text, "oUser_AbC-123");
    EXPECT_EQ(r.root->child("CreateTime")->text, "1348831860");
    EXPECT_EQ(r.root->child("Content")->text, "查询余额");
    EXPECT_EQ(r.root->child("MsgId")->text, "1234567890123456");
    EXPECT_EQ(r.root->child("Missing"), nullptr);
    EXPECT_TRUE(r.root->text.empty());
}

TEST(WechatXmlTest, AcceptsDeclarationCommentsWhitespaceAndAttributes) {
    XmlResult r = parse_xml(
        "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- hello -->\n"
        "<xml a=\"1\" b='x &amp; y'>\n  <A>1</A>\n  <!-- inside -->\n  <B/>\n</xml>\n");
    ASSERT_TRUE(r.root) << r.error;
    ASSERT_EQ(r.root->children.size(), 2u);
    EXPECT_EQ(r.root->child("A")->text, "1");
    EXPECT_EQ(r.root->child("B")->text, "");
}

TEST(WechatXmlTest, DecodesPredefinedEntitiesAndCharacterReferences) {
    XmlResult r =
        parse_xml("<a>&lt;b&gt; &amp; &quot;q&quot; &apos;s&apos; &#20320;&#x597D;&#x41;</a>");
    ASSERT_TRUE(r.root) << r.error;
    EXPECT_EQ(r.root->text, "<b> & \"q\" 's' 你好A");
}

TEST(WechatXmlTest, CdataKeepsMarkupLiterally) {
    XmlResult r = parse_xml("<a><![CDATA[<b>&amp;</b> ]] >]]>tail&amp;</a>");
    ASSERT_TRUE(r.root) << r.error;
    EXPECT_EQ(r.root->text, "<b>&amp;</b> ]] >tail&");
}

TEST(WechatXmlTest, ReadsNestedElementsOfEventMessages) {
    XmlResult r = parse_xml(
        "<xml><Event>scancode_push</Event><ScanCodeInfo><ScanType>qrcode</ScanType>"
        "<ScanResult>1</ScanResult></ScanCodeInfo></xml>");
    ASSERT_TRUE(r.root) << r.error;
    const XmlElement* info = r.root->child("ScanCodeInfo");
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->child("ScanType")->text, "qrcode");
}

TEST(WechatXmlTest, RefusesDoctypeSoNoExternalEntityIsEverRead) {
    std::string xxe =
        "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
        "<xml><Content>&xxe;</Content></xml>";
    EXPECT_NE(refusal(xxe).find("DOCTYPE"), std::string::npos);

    std::string laughs =
        "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>"
        "<lolz>&lol2;</lolz>";
    EXPECT_NE(refusal(laughs).find("DOCTYPE"), std::string::npos);
}

TEST(WechatXmlTest, RefusesDeclarationsAndUnknownEntitiesInsideElements) {
    EXPECT_NE(refusal("<a><!ENTITY x \"y\"></a>").find("declarations"), std::string::npos);
    EXPECT_NE(refusal("<a>&xxe;</a>").find("unknown entity"), std::string::npos);
    EXPECT_NE(refusal("<a>&amp</a>").find("entity"), std::string::npos);
    EXPECT_FALSE(refusal("<a b=\"&foo;\"/>").empty());
}

TEST(WechatXmlTest, RefusesCharacterReferencesXmlForbids) {
    EXPECT_FALSE(refusal("<a>&#0;</a>").empty());
    EXPECT_FALSE(refusal("<a>&#x1;</a>").empty());
    EXPECT_FALSE(refusal("<a>&#xD800;</a>").empty());
    EXPECT_FALSE(refusal("<a>&#x110000;</a>").empty());
    EXPECT_FALSE(refusal("<a>&#99999999999999999999;</a>").empty());
    EXPECT_FALSE(refusal("<a>&#;</a>").empty());
    EXPECT_FALSE(refusal("<a>&#x;</a>").empty());
    EXPECT_FALSE(refusal("<a>&#12a;</a>").empty());
    EXPECT_FALSE(refusal("<a>&#X41;</a>").empty());  // only a lower-case x is XML
}

TEST(WechatXmlTest, RefusesProcessingInstructions) {
    EXPECT_NE(refusal("<?php echo 1; ?><a/>").find("processing"), std::string::npos);
    EXPECT_NE(refusal("<a><?pi x?></a>").find("processing"), std::string::npos);
}

TEST(WechatXmlTest, RefusesBrokenStructure) {
    EXPECT_NE(refusal("").find("root"), std::string::npos);
    EXPECT_NE(refusal("just text").find("root"), std::string::npos);
    EXPECT_NE(refusal("<a><b></a></b>").find("does not close"), std::string::npos);
    EXPECT_NE(refusal("<a><b>").find("unclosed"), std::string::npos);
    EXPECT_NE(refusal("<a/><b/>").find("after the root"), std::string::npos);
    EXPECT_NE(refusal("<a/>trailing").find("after the root"), std::string::npos);
    EXPECT_NE(refusal("<a>x<b/></a>").find("mixed"), std::string::npos);
    EXPECT_NE(refusal("<a><![CDATA[x</a>").find("CDATA"), std::string::npos);
    EXPECT_NE(refusal("<a>x]]>y</a>").find("]]>"), std::string::npos);
    EXPECT_NE(refusal("<a><!-- x</a>").find("comment"), std::string::npos);
    EXPECT_FALSE(refusal("<1a/>").empty());
    EXPECT_FALSE(refusal("<a b/>").empty());
    EXPECT_FALSE(refusal("<a b=c/>").empty());
    EXPECT_FALSE(refusal("<a b=\"c/>").empty());
    EXPECT_FALSE(refusal("<a b=\"<\"/>").empty());
    EXPECT_FALSE(refusal("<a").empty());
    EXPECT_FALSE(refusal("<a></a").empty());
    EXPECT_FALSE(refusal("<?xml version=\"1.0\"").empty());
}

TEST(WechatXmlTest, RefusesTextThatIsNotUtf8OrHasControlCharacters) {
    EXPECT_NE(refusal("<a>caf\xE9</a>").find("UTF-8"), std::string::npos);
    EXPECT_NE(refusal(std::string("<a>x\0y</a>", 10)).find("character"), std::string::npos);
    EXPECT_NE(refusal("<a>\x1B[31m</a>").find("character"), std::string::npos);
    EXPECT_TRUE(refusal("<a>tab\tand\r\nnewline</a>").empty());
}

TEST(WechatXmlTest, EnforcesSizeDepthAndElementLimits) {
    XmlLimits limits;
    limits.max_bytes = 32;
    EXPECT_NE(refusal("<a>" + std::string(40, 'x') + "</a>", limits).find("larger"),
              std::string::npos);

    limits = {};
    std::string deep;
    for (int i = 0; i < 9; ++i) {
        deep += "<e>";
    }
    for (int i = 0; i < 9; ++i) {
        deep += "</e>";
    }
    EXPECT_NE(refusal(deep, limits).find("deeper"), std::string::npos);
    EXPECT_TRUE(refusal(deep.substr(3, deep.size() - 7), limits).empty());  // 8 levels

    limits.max_elements = 4;
    EXPECT_NE(refusal("<a><b/><b/><b/><b/></a>", limits).find("elements"), std::string::npos);
    EXPECT_TRUE(refusal("<a><b/><b/><b/></a>", limits).empty());

    // A hostile depth far past the limit fails fast instead of recursing.
    std::string hostile;
    for (int i = 0; i < 30000; ++i) {
        hostile += "<a>";
    }
    EXPECT_FALSE(refusal(hostile, XmlLimits{200000, 8, 256}).empty());
}

}  // namespace
}  // namespace teller::channels
