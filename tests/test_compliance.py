"""Compliance warnings from the seeds' rules, raised at the right moment and only once."""

from __future__ import annotations

import itertools

from copilot.app import Copilot

_ids = itertools.count()

# 000_caca918492027a65.txt 案例分析1, turn by turn.
CASE_1 = [
    (
        "agent",
        "您好，我是移动公司外呼客户经理，您现在接听的电话是免费的，我公司有一项优惠活动，"
        "想向您介绍一下，请问您是139********的机主吗？",
    ),
    ("customer", "什么优惠？"),
    (
        "agent",
        "我公司为答谢客户推出了办理主叫铃音盒免费赠送您彩铃歌曲的活动，向您介绍一下，可以吗？",
    ),
    ("customer", "你说吧。"),
    (
        "agent",
        "谢谢。主叫铃音盒就是当您给别人打电话的时候可以听到自己设置的彩铃铃音，这个业务有两个档位，"
        "有1元钱和2元钱的，1元钱中有3首彩铃，2元钱中有6首彩铃，办理后还会额外赠送您3首被叫彩铃，"
        "这样您办理后不但可以听到自己的彩铃，别人给您打电话还可以听到我们赠送3首彩铃，一举两得，非常超值。",
    ),
    ("customer", "别人给我打电话能听到呗？"),
    (
        "agent",
        "对，别人给您打电话可以听到我们赠送的3首彩铃。这个业务办理后，相当于1元钱有6首彩铃，"
        "2元钱有9首彩铃，彩铃每个月会为您自动更新一次，每个月用的彩铃都不一样。",
    ),
    ("customer", "就1块钱呗？"),
    ("agent", "是的，您可以办理一个1元档位的，尝试使用一下。"),
    ("customer", "行，那办个1块的，我看看。"),
    (
        "agent",
        "好的，那我现在为您转接密码验证流程，您只需要按语音提示输入密码按#号键，"
        "密码输入正确就可以返回与我通话了。",
    ),
]

MODEL_CALL = [
    ("agent", "您好，我是移动公司客户经理，请问您是139xxxx1234的机主吗？"),
    ("customer", "对，是我。"),
    (
        "agent",
        "感谢您的支持。我们推出了主叫铃音盒业务，1元/月可选3首，2元/月可选6首，按月收取。"
        "您拨打省内移动彩铃用户时对方能听到您设置的铃音，铃音盒内歌曲每月自动更新。",
    ),
    ("customer", "哦，那挺好。"),
    ("agent", "您看给您办理一个1元档的吗？"),
    ("customer", "行，那就办一个1块的吧。"),
    ("agent", "好的，为了保障机主权益，我们需要验证您的服务密码，现在为您转接密码验证。"),
    (
        "agent",
        "密码验证成功了，已经为您开通。跟您确认一下，为您手机号码139xxxx1234开通的是主叫铃音盒1元/月档，"
        "您还有其他疑问吗？",
    ),
    ("customer", "没有了，谢谢。"),
    ("agent", "不客气，祝您生活愉快，再见。"),
]


async def replay(copilot: Copilot, turns, campaign="ringback-box", direction="outbound"):
    call_id = f"cmp-{next(_ids)}"
    messages = await copilot.start_call(call_id, campaign, direction)
    moments: dict[str, int] = {}
    for seq, (speaker, text) in enumerate(turns, start=1):
        for m in await copilot.turn(call_id, seq, speaker, text):
            messages.append(m)
            if m["type"] == "warning":
                moments[m["code"]] = m["in_reply_to"]
    end = await copilot.end_call(call_id, "hangup")
    for m in end:
        if m["type"] == "warning":
            moments[m["code"]] = m["in_reply_to"]
    return moments, messages + end


async def test_case_1_raises_exactly_the_four_faults_the_seed_grades(copilot: Copilot) -> None:
    moments, messages = await replay(copilot, CASE_1)
    assert set(moments) == {
        "identity_check",
        "fee_disclosure",
        "rules_disclosure",
        "verification_purpose",
    }
    assert moments["identity_check"] == 3  # the offer began before the holder confirmed
    assert moments["verification_purpose"] == 11  # the transfer without a purpose
    warnings = [m for m in messages if m["type"] == "warning"]
    assert len(warnings) == 4  # no duplicates
    fee = next(w for w in warnings if w["code"] == "fee_disclosure")
    assert fee["hint"] == "1元/月或2元/月，按月收取（包月）"  # the campaign's approved fact
    assert messages[-1]["type"] == "disposition"
    assert messages[-1]["code"] == "intent_not_completed"


async def test_a_model_call_raises_nothing_and_ticks_the_checklist(copilot: Copilot) -> None:
    moments, messages = await replay(copilot, MODEL_CALL)
    assert moments == {}
    checklists = [m for m in messages if m["type"] == "checklist"]
    assert all(item["done"] for item in checklists[-1]["items"])
    assert len(checklists) > 2  # sent as items change, not once
    assert messages[-1]["code"] == "marketing_success"
    steps = [m["items"][0]["code"] for m in messages if m.get("kind") == "next_step"]
    assert steps == ["identity_check", "verification_purpose"]  # guidance in call order


async def test_situations_raise_their_own_codes(copilot: Copilot) -> None:
    driving = [
        ("agent", "您好，请问您是机主吗？"),
        ("customer", "是我，我在开车呢"),
        ("agent", "就耽误您一分钟，我们推出了主叫铃音盒优惠活动"),
    ]
    moments, messages = await replay(copilot, driving)
    assert moments == {"customer_unavailable": 3}
    assert messages[-1]["code"] == "other_incomplete"
    polite = [
        ("agent", "您好，请问您是机主吗？"),
        ("customer", "是我，我在开车呢"),
        ("agent", "不好意思，打扰您了，我半个小时之后再联系您可以吗？"),
    ]
    assert (await replay(copilot, polite))[0] == {}


async def test_do_not_call_and_forbidden_phrases(copilot: Copilot) -> None:
    ignored = [
        ("agent", "您好，请问您是机主吗？"),
        ("customer", "你们以后别再给我打电话了"),
        ("agent", "先生您先听我说完嘛，这个活动真的很优惠"),
    ]
    assert "do_not_call" in (await replay(copilot, ignored, campaign=None))[0]
    acknowledged = [
        ("agent", "您好，请问您是机主吗？"),
        ("customer", "你们以后别再给我打电话了"),
        ("agent", "好的，您的要求我会马上反馈，尽快处理，以后避免用电话的方式联系您，好吗？"),
    ]
    assert (await replay(copilot, acknowledged, campaign=None))[0] == {}
    rude = [
        ("agent", "您好，请问您是机主吗？"),
        ("customer", "啊？"),
        ("agent", "喂，大声一点！我听不见"),
    ]
    assert (await replay(copilot, rude, campaign=None))[0] == {"forbidden_phrase": 3}


async def test_inbound_calls_get_no_outbound_rules(copilot: Copilot) -> None:
    inbound = [
        ("agent", "您好，请问有什么可以帮您？"),
        ("customer", "你们以后别给我打推销电话了"),
        ("agent", "我们有个流量套餐优惠活动向您介绍一下"),
    ]
    moments, _ = await replay(copilot, inbound, campaign=None, direction="inbound")
    assert "identity_check" not in moments and "do_not_call" not in moments


async def test_privacy_is_reading_out_not_looking(copilot: Copilot) -> None:
    leak = [
        ("agent", "您好，请问您是机主吗？"),
        ("customer", "是我，我还剩多少话费啊"),
        ("agent", "我帮您查一下余额，您的余额还有35元"),
    ]
    assert "privacy" in (await replay(copilot, leak, campaign=None))[0]
    guide = [
        ("agent", "您好，请问您是机主吗？"),
        ("customer", "是我，我还剩多少话费啊"),
        ("agent", "很抱歉，因为我们是外呼坐席无权查询您的详细资料，您稍后联系前台10086查询好吧"),
    ]
    assert (await replay(copilot, guide, campaign=None))[0] == {}
