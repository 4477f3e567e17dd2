"""Dispositions from the tracked call state: one dialogue per code, the seeds' tricky pairs,
and the agent's confirmation kept with the call record."""

from __future__ import annotations

import itertools

import pytest

from copilot.app import CallError, Copilot

_ids = itertools.count()
IDENTITY = [
    ("agent", "您好，我是移动公司客户经理，请问您是139xxxx的机主吗？"),
    ("customer", "对，是我"),
]
OFFER = [
    (
        "agent",
        "我们推出了主叫铃音盒，1元/月包月，拨打省内移动彩铃用户可听到您设置的铃音，给您介绍一下",
    )
]


async def dispose(copilot: Copilot, turns, campaign="ringback-box", events=()):
    call_id = f"dsp-{next(_ids)}"
    await copilot.start_call(call_id, campaign, "outbound")
    for seq, (speaker, text) in enumerate(turns, start=1):
        await copilot.turn(call_id, seq, speaker, text)
    for event in events:
        await copilot.crm_event(call_id, event)
    messages = await copilot.end_call(call_id, "hangup")
    return call_id, messages[-1]


@pytest.mark.parametrize(
    ("campaign", "turns", "events", "code"),
    [
        (
            "ringback-box",
            [
                *IDENTITY,
                *OFFER,
                ("customer", "行，给我办一个"),
                ("agent", "为了保障机主权益，我们需要验证您的服务密码"),
                ("agent", "密码验证成功了"),
            ],
            (),
            "marketing_success",
        ),
        (
            "ringback-box",
            [
                *IDENTITY,
                *OFFER,
                ("customer", "那我自己回头发短信开通吧"),
                ("agent", "好的，您可以自己发送短信办理"),
            ],
            (),
            "referral_success",
        ),
        ("ringback-box", [*IDENTITY, *OFFER, ("customer", "不需要，我用不上")], (), "declined"),
        # a refusal, then the polite "以后有需要可以发短信办理" merely acknowledged: 拒绝办理
        (
            "ringback-box",
            [
                *IDENTITY,
                *OFFER,
                ("customer", "不用了，我用不上"),
                ("agent", "好的没关系，您以后如果有需要，可以发短信或者拨打10086办理"),
                ("customer", "嗯，知道了"),
            ],
            (),
            "declined",
        ),
        # hesitation, the agent recommends the shop, the customer will go there: 推荐成功
        (
            "ringback-box",
            [
                *IDENTITY,
                *OFFER,
                ("customer", "我得跟家里商量一下"),
                ("agent", "理解，您也可以带上身份证到就近的营业厅办理"),
                ("customer", "那我周末去营业厅办吧"),
            ],
            (),
            "referral_success",
        ),
        # "不用你办" with the customer's own plan in the same breath: 推荐成功
        (
            "gprs-pack",
            [
                *IDENTITY,
                *OFFER,
                ("customer", "不用你办，我平时都在APP上自己订，回头我在APP里订一个"),
            ],
            (),
            "referral_success",
        ),
        # agreed, no password, "I'll sort the password at the shop first": 意向未办理 (000 案例2)
        (
            "ringback-box",
            [
                *IDENTITY,
                *OFFER,
                ("customer", "行，办个1块的，就是服务密码我忘了"),
                ("customer", "等我去营业厅把密码弄好再说吧"),
            ],
            (),
            "intent_not_completed",
        ),
        # the agent reading back a reply that did not take is no valid e-contract: 意向未办理
        (
            "gprs-pack",
            [
                *IDENTITY,
                *OFFER,
                ("customer", "那给我开个五块的"),
                ("agent", "为了确认机主身份，需要验证一下您的服务密码"),
                ("agent", "不好意思，系统显示您的回复没有生效，需要回复是才可以"),
                ("customer", "算了算了，下回再说吧"),
            ],
            (),
            "intent_not_completed",
        ),
        (
            "ringback-box",
            [
                *IDENTITY,
                *OFFER,
                ("customer", "那先弄个一块的试试"),
                ("agent", "我们需要验证一下您的服务密码，您按语音提示输入"),
                ("agent", "您好，密码验证已经通过了"),
            ],
            (),
            "marketing_success",
        ),
        # "张建国是我爸，这是他的号": not the holder (000 选择18)
        (
            "ringback-box",
            [("agent", "请问您是机主张建国先生吗？"), ("customer", "张建国是我爸，这是他的号")],
            (),
            "other_incomplete",
        ),
        # "忙着呢" said with the refusal is an excuse, not an objective reason: 拒绝办理
        (
            "ringback-box",
            [*IDENTITY, *OFFER, ("customer", "没兴趣，不办了，我这忙着呢，挂了")],
            (),
            "declined",
        ),
        # driving is objective whatever else was said (contract): 其他原因未完成
        (
            "ringback-box",
            [*IDENTITY, *OFFER, ("customer", "不用了，我在开车呢")],
            (),
            "other_incomplete",
        ),
        # "我在忙" before the offer, a callback agreed: 其他原因未完成
        (
            "ringback-box",
            [
                *IDENTITY,
                ("customer", "我这会儿在忙"),
                ("agent", "不好意思打扰了，那我晚点再给您打，您看什么时候方便"),
                ("customer", "下午吧"),
            ],
            (),
            "other_incomplete",
        ),
        # 000 案例1 / 选择14: agreed, the password failed -> 意向未办理
        (
            "ringback-box",
            [
                *IDENTITY,
                *OFFER,
                ("customer", "行，那办个1块的"),
                ("agent", "为了保障机主权益，我们需要验证您的服务密码"),
                ("agent", "不好意思，密码验证没有通过"),
            ],
            (),
            "intent_not_completed",
        ),
        # 000 判断13: answered but never spoke -> 意向拒绝 (a silent line: agent turns only)
        (
            "ringback-box",
            [
                ("agent", "您好，请问您能听到我的声音吗？"),
                ("agent", "对不起，听不到您任何回应，以后有优惠再联系您，祝您愉快，再见！"),
            ],
            (),
            "intent_declined",
        ),
        # service: broke off in the main questionnaire -> 中途拒绝 (marketing would be 拒绝办理)
        (
            "satisfaction-survey",
            [
                *IDENTITY,
                ("agent", "我们做一个满意度调查，第一个问题"),
                ("customer", "不想答了，没时间听"),
            ],
            (),
            "midway_declined",
        ),
        (
            "satisfaction-survey",
            [
                *IDENTITY,
                ("agent", "我们做一个满意度调查，第一个问题"),
                ("customer", "挺满意的"),
                ("agent", "问题就这些，感谢您的配合"),
            ],
            (),
            "survey_completed",
        ),
        # 000 选择18: not the holder / bad signal -> 其他原因未完成
        (
            "ringback-box",
            [("agent", "请问您是机主吗？"), ("customer", "不是，这是我爸的手机")],
            (),
            "other_incomplete",
        ),
        (
            "ringback-box",
            [*IDENTITY, ("customer", "喂？信号不好，听不清你说什么")],
            (),
            "other_incomplete",
        ),
        # 000 选择17: the e-contract decides, valid or not (a CRM event)
        (
            "ringback-box",
            [
                *IDENTITY,
                *OFFER,
                ("customer", "行，办一个"),
                ("agent", "我给您下发业务订购确认短信，您回复是就可以"),
            ],
            ("econtract.valid",),
            "marketing_success",
        ),
        (
            "ringback-box",
            [
                *IDENTITY,
                *OFFER,
                ("customer", "行，办一个"),
                ("agent", "我给您下发业务订购确认短信，您回复是就可以"),
            ],
            ("econtract.invalid",),
            "intent_not_completed",
        ),
        # A silent line stays 意向拒绝 even when the agent ends it with "cannot hear you" words
        (
            "ringback-box",
            [
                ("agent", "请问您是机主吗？"),
                ("agent", "您好，请问您能听到我的声音吗"),
                ("agent", "不好意思，我现在无法听清您的声音，我稍后再联系您"),
            ],
            (),
            "intent_declined",
        ),
        # "busy" with a refusal after the offer, and a callback turned down, are excuses
        (
            "gprs-pack",
            [
                *IDENTITY,
                ("agent", "GPRS包月套餐，10元70兆、20元150兆，按月收费"),
                ("customer", "哎呀我忙着呢，这个不需要，我流量够用"),
                ("agent", "那您看我换个时间再给您打过来详细介绍一下可以吗"),
                ("customer", "不用打了"),
            ],
            (),
            "declined",
        ),
        (
            "satisfaction-survey",
            [
                *IDENTITY,
                ("agent", "第一个问题，您对移动网络信号满意吗，用1到10分评价"),
                ("customer", "七分"),
                ("customer", "行了行了，我这还忙着呢"),
                ("agent", "那我换个您方便的时间再打给您可以吗"),
                ("customer", "不用了，别打了，我不想做这个"),
            ],
            (),
            "midway_declined",
        ),
        # Asking for "a few minutes" is not the questionnaire itself
        (
            "satisfaction-survey",
            [
                *IDENTITY,
                ("agent", "您好，打扰您几分钟时间，我们这边"),
                ("customer", "哎呀不用了不用了，挂了啊"),
            ],
            (),
            "intent_declined",
        ),
        # "不够用" is a need, not the refusal reason "够用": the failed e-contract decides
        (
            "gprs-pack",
            [
                *IDENTITY,
                ("agent", "GPRS包月套餐，10元每月70兆，按月收取"),
                ("customer", "十块七十兆行吧我正好不够用"),
                ("agent", "那我给您下发业务订购确认短信，您回复是就可以"),
                ("agent", "系统显示您回复的内容不符合要求，验证没有成功"),
                ("customer", "算了不回了"),
            ],
            (),
            "intent_not_completed",
        ),
        # "不算有效回复" and "没有为您开通成功" are failures, not the success words they contain
        (
            "ringback-box",
            [
                *IDENTITY,
                *OFFER,
                ("customer", "嗯那行我来个一块的"),
                ("agent", "已经给您下发业务订购确认短信，您回复是就可以"),
                ("agent", "系统显示您回复的是办理两个字，这个不算有效回复"),
                ("customer", "算了不弄了"),
                ("agent", "好的，那这次就没有为您开通成功，打扰您了"),
            ],
            (),
            "intent_not_completed",
        ),
    ],
)
async def test_each_code_from_the_call_state(
    copilot: Copilot, campaign, turns, events, code
) -> None:
    _, disposition = await dispose(copilot, turns, campaign, events)
    assert disposition["type"] == "disposition"
    assert disposition["code"] == code, disposition["rationale"]


async def test_a_refusal_keeps_the_customers_own_reason(copilot: Copilot) -> None:
    _, with_reason = await dispose(
        copilot, [*IDENTITY, *OFFER, ("customer", "不要，我平时都不打电话")]
    )
    assert with_reason["refusal_reason"] == "不要我平时都不打电话"
    _, without = await dispose(copilot, [*IDENTITY, *OFFER, ("customer", "不需要")])
    assert without["refusal_reason"] == "无原因或拒答"


async def test_codes_that_do_not_apply_to_the_campaign_type_are_never_proposed(
    copilot: Copilot,
) -> None:
    _, disposition = await dispose(
        copilot, [*IDENTITY, *OFFER, ("customer", "不需要")], campaign=None
    )
    assert disposition["code"] == "declined"
    assert all(
        a["code"] in {"intent_declined", "other_incomplete"} for a in disposition["alternatives"]
    )


async def test_the_agent_confirms_or_changes_the_code(copilot: Copilot) -> None:
    call_id, proposed = await dispose(copilot, [*IDENTITY, *OFFER, ("customer", "不需要")])
    confirmed = await copilot.confirm_disposition(call_id, "intent_declined")
    assert confirmed["overridden"] is True
    record = await copilot.call_record(call_id)
    assert record["result"]["proposed"]["code"] == proposed["code"] == "declined"
    assert record["result"]["final"] == "intent_declined" and record["result"]["overridden"]
    assert [t["seq"] for t in record["turns"]] == [1, 2, 3, 4]
    with pytest.raises(CallError):
        await copilot.confirm_disposition(call_id, "survey_completed")  # a service code
    with pytest.raises(CallError):
        await copilot.confirm_disposition("never-ended", "declined")
