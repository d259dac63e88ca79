// A four-article knowledge base and templates shared by the model tests.
#pragma once

namespace teller::nlg::testing {

inline constexpr const char* kTinyKb = R"(articles:
  - id: hours.branch
    en:
      questions: ["what are your branch opening hours", "when do branches open",
                  "what time does the bank open", "is the branch open on saturday"]
      answer: "Branches open 9:00-17:00 on weekdays."
    zh-CN:
      questions: ["网点几点开门", "银行营业时间", "周六网点营业吗", "银行什么时候开门"]
      answer: "网点工作日 9:00-17:00 营业。"
  - id: fees.atm
    en:
      questions: ["how much is the atm withdrawal fee", "cash machine charges",
                  "do you charge for taking out cash", "fee for withdrawing money at an atm"]
      answer: "Withdrawals at our ATMs are free."
    zh-CN:
      questions: ["取款手续费多少", "ATM取现收费吗", "取钱要手续费吗", "跨行取款费用"]
      answer: "本行ATM取款免费。"
  - id: cards.delivery
    en:
      questions: ["when will my new card arrive", "card delivery time",
                  "how long until the replacement card comes", "my card has not arrived"]
      answer: "Cards arrive within seven working days."
    zh-CN:
      questions: ["新卡多久寄到", "补办的卡几天能收到", "卡还没寄到", "银行卡邮寄时间"]
      answer: "新卡七个工作日内送达。"
  - id: security.phishing
    en:
      questions: ["i got a suspicious text with a link", "is this phishing email real",
                  "someone asked for my password by message", "report a fake bank website"]
      answer: "We never send links asking for your password."
    zh-CN:
      questions: ["收到可疑短信链接", "钓鱼邮件怎么办", "有人发消息要我的密码", "举报假冒银行网站"]
      answer: "我们从不发送索要密码的链接。"
)";

}  // namespace teller::nlg::testing
