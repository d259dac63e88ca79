// The built-in system intents (greetings, confirmations, cancel, handoff, out of scope) and
// their training examples in English and Simplified Chinese.
#include "teller/core/skill_host.hpp"

namespace teller::core {
namespace {

struct SystemIntent {
    std::string_view name;
    std::string_view title_en;
    std::string_view title_zh;
    std::vector<std::string_view> en;
    std::vector<std::string_view> zh;
};

const std::vector<SystemIntent>& system_intents() {
    static const std::vector<SystemIntent> intents = {
        {system_intent::greet,
         "Say hello",
         "打招呼",
         {"hi", "hello", "hey there", "good morning", "good afternoon", "good evening",
          "hello, anyone there?", "hi bot", "hey", "greetings", "morning!", "hiya", "hello team",
          "hi, I need some help", "yo", "howdy", "hi again", "hello, is this the bank?"},
         {"你好", "您好", "早上好", "下午好", "晚上好", "嗨", "哈喽", "在吗", "有人吗",
          "你好，我需要帮助", "您好，请问是银行客服吗", "喂，你好", "嗨，机器人", "早安", "你好呀",
          "在不在", "hello你好"}},
        {system_intent::goodbye,
         "Say goodbye",
         "再见",
         {"bye", "goodbye", "see you", "see you later", "that's all, bye", "talk to you later",
          "have a nice day", "bye for now", "catch you later", "good night", "I'm done, goodbye",
          "ok bye", "cheers, bye", "that will be all", "signing off", "farewell"},
         {"再见", "拜拜", "回头见", "下次见", "就这样吧，再见", "没事了，拜拜", "晚安",
          "先这样，再见", "好的再见", "祝你愉快，再见", "我走了", "不聊了", "结束对话", "那就这样",
          "886"}},
        {system_intent::thanks,
         "Say thanks",
         "感谢",
         {"thanks", "thank you", "thanks a lot", "many thanks", "thank you so much", "cheers",
          "much appreciated", "thanks for the help", "great, thanks", "appreciate it", "ty", "thx",
          "thanks, that helped", "perfect, thank you", "you've been helpful", "brilliant, thanks"},
         {"谢谢", "谢谢你", "多谢", "非常感谢", "感谢帮助", "太感谢了", "谢啦", "好的谢谢",
          "辛苦了", "谢谢您的帮助", "麻烦你了，谢谢", "感激不尽", "很有帮助，谢谢", "3q", "谢了"}},
        {system_intent::affirm,
         "Yes",
         "是的",
         {"yes",          "yeah",          "yep",        "sure",        "correct",
          "that's right", "yes please",    "ok",         "okay",        "go ahead",
          "do it",        "confirm",       "absolutely", "of course",   "right",
          "please do",    "yes, that one", "definitely", "affirmative", "sounds good"},
         {"是", "是的", "对", "对的", "好", "好的", "确认", "没错", "可以", "行", "就是这张",
          "请继续", "确定", "嗯", "当然", "没问题", "是这样", "同意"}},
        {system_intent::deny,
         "No",
         "不是",
         {"no", "nope", "no thanks", "not really", "don't", "no, wrong one", "negative",
          "that's wrong", "not that one", "no way", "please don't", "I don't want that", "nah",
          "not now", "incorrect", "don't do it"},
         {"不", "不是", "不要", "不用", "不对", "不行", "错了", "不是这张", "别", "算了不要",
          "不需要", "否", "不可以", "先不要", "不同意"}},
        {system_intent::cancel,
         "Cancel",
         "取消",
         {"cancel", "stop", "cancel that", "never mind", "forget it", "abort", "stop this",
          "I changed my mind", "quit", "start over", "cancel the request", "leave it", "exit",
          "forget about it", "scrap that", "don't continue"},
         {"取消", "停止", "算了", "不办了", "不用了，取消", "退出", "重新开始", "我改主意了",
          "撤销", "别弄了", "终止", "先取消吧", "取消操作", "不想办了", "返回"}},
        {system_intent::human_agent,
         "Talk to a person",
         "转人工客服",
         {"agent", "human", "talk to a human", "I want to speak to a person",
          "connect me to an agent", "real person please", "customer service representative",
          "can I talk to someone", "transfer me to a human", "operator", "let me speak with staff",
          "I need a real agent", "get me a human being", "is there a person I can chat with",
          "live agent", "call center please", "you're not helping, get me a person"},
         {"人工", "转人工", "人工客服", "我要找人工", "找个真人", "接人工服务", "客服人员",
          "我要和工作人员说话", "帮我转人工", "有真人吗", "转接客服", "我想跟人聊", "叫你们经理来",
          "人工服务", "给我接个客服", "机器人听不懂，找人工"}},
        {system_intent::out_of_scope,
         "Something else",
         "其他问题",
         {"what's the weather like",
          "tell me a joke",
          "will it rain tomorrow",
          "how do I open a savings account",
          "can I open a business account",
          "what are your branch opening hours",
          "how do I reset my online banking password",
          "I want to invest in mutual funds",
          "what's the exchange rate for euros",
          "how do I set up a standing order",
          "who won the football match",
          "sing me a song",
          "how do I update my home address",
          "what is the interest on a fixed deposit",
          "recommend a good restaurant",
          "how old are you",
          "are you a robot",
          "what time is it",
          "I need a tax certificate for my savings",
          "how do I close my account",
          "can I get a cheque book",
          "what's the IBAN of my account",
          "book me a flight",
          "how do I register for mobile banking",
          "what's your favourite colour",
          "where is the nearest ATM",
          "I want to file a complaint about a branch",
          "how much is a wire transfer fee",
          "translate this into French",
          "do you offer student accounts",
          "what's the capital of Australia",
          "I'd like to buy travel insurance",
          "can you help me with my taxes",
          "how do I change my phone number on file",
          "tell me about your insurance products",
          "what's bitcoin worth",
          "play some music",
          "how do I download statements",
          "I want to buy travel insurance",
          "what does APR mean"},
         {"今天天气怎么样",
          "讲个笑话",
          "明天会下雨吗",
          "怎么开储蓄账户",
          "我想开一个企业账户",
          "网点几点开门",
          "网银密码怎么重置",
          "我想买基金",
          "欧元汇率多少",
          "怎么设置定期转账",
          "昨晚球赛谁赢了",
          "给我唱首歌",
          "怎么修改家庭住址",
          "定期存款利息多少",
          "推荐一家餐厅",
          "你几岁了",
          "你是机器人吗",
          "现在几点",
          "我要开存款证明",
          "怎么销户",
          "能办支票本吗",
          "我的账户开户行是哪里",
          "帮我订机票",
          "手机银行怎么注册",
          "你喜欢什么颜色",
          "最近的ATM在哪里",
          "我要投诉网点服务",
          "跨境汇款手续费多少",
          "把这句话翻译成英文",
          "有学生账户吗",
          "澳大利亚的首都是哪里",
          "我想买一份意外险",
          "能帮我报税吗",
          "怎么更换预留手机号",
          "介绍一下你们的保险",
          "比特币现在多少钱",
          "放点音乐",
          "怎么下载流水",
          "我想买旅游保险",
          "年化利率是什么意思"}},
    };
    return intents;
}

}  // namespace

std::vector<TrainingExample> system_intent_examples() {
    std::vector<TrainingExample> out;
    for (const SystemIntent& intent : system_intents()) {
        for (std::string_view text : intent.en) {
            out.push_back({std::string(text), std::string(intent.name), "en"});
        }
        for (std::string_view text : intent.zh) {
            out.push_back({std::string(text), std::string(intent.name), "zh-CN"});
        }
    }
    return out;
}

std::vector<IntentInfo> system_intent_infos() {
    std::vector<IntentInfo> out;
    for (const SystemIntent& intent : system_intents()) {
        out.push_back(
            {std::string(intent.name),
             "",
             {{"en", std::string(intent.title_en)}, {"zh-CN", std::string(intent.title_zh)}}});
    }
    return out;
}

}  // namespace teller::core
