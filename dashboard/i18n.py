"""Every label of the command center in English and Chinese.

>>> t("alerts", "zh"), t("alerts", "en")
('预警', 'alerts')
>>> t("stage_n", "zh", n=3)
'3级'
"""

from __future__ import annotations

LANGUAGES: tuple[str, ...] = ("en", "zh")

LABELS: dict[str, tuple[str, str]] = {
    # Shell and navigation.
    "app_title": ("citybrain command center", "城市大脑指挥中心"),
    "city": ("city", "全市"),
    "district": ("district", "区"),
    "street": ("street", "街道"),
    "grid": ("grid cell", "网格"),
    "sensor": ("sensor", "传感器"),
    "alerts": ("alerts", "预警"),
    "alert": ("alert", "预警"),
    "alert_console": ("alert console", "预警处置台"),
    "cases": ("cases", "案件"),
    "case": ("case", "案件"),
    "quality": ("data quality", "数据质量"),
    "catalog": ("data catalog", "数据目录"),
    "overview": ("overview", "总览"),
    "replays": ("replays", "回放"),
    "access_audit": ("access audit", "访问审计"),
    "access_note": (
        "logins, failed and refused logins, logouts, refused requests and user changes, newest "
        "first",
        "登录、失败与被拒绝的登录、登出、被拒绝的请求和用户变更，最新在前",
    ),
    "no_access_events": ("no access recorded yet", "暂无访问记录"),
    "user": ("user", "用户"),
    "address": ("address", "地址"),
    "role": ("role", "角色"),
    "detail": ("detail", "详情"),
    "access_login": ("login", "登录"),
    "access_login_failed": ("failed login", "登录失败"),
    "access_login_throttled": ("login refused: too many failures", "登录被拒：失败次数过多"),
    "access_logout": ("logout", "登出"),
    "access_request_refused": ("request refused", "请求被拒绝"),
    "access_user_added": ("user added", "新增用户"),
    "access_user_changed": ("user changed", "用户变更"),
    "access_user_disabled": ("user disabled", "停用用户"),
    "replay": ("replay", "回放"),
    "play": ("play", "播放"),
    "pause": ("pause", "暂停"),
    "moment": ("moment", "时刻"),
    "since": ("since", "开始于"),
    "replay_range": ("from {start} to {end}", "{start} 至 {end}"),
    "no_replays": ("no finished replays", "暂无已完成的回放"),
    "no_such_replay": ("no finished replay named {name}", "不存在已完成的回放：{name}"),
    "bad_replay": ("replay {name} cannot be shown: {error}", "回放 {name} 无法显示：{error}"),
    "replay_from": ("from", "开始"),
    "replay_to": ("to", "结束"),
    "replay_activity": ("events/min by family · {area}", "各类事件/分钟 · {area}"),
    "replay_at": ("replay at {time}", "回放时刻 {time}"),
    "rollup_title": ("per-minute roll-up", "分钟汇总"),
    "rollup_mean": ("mean", "均值"),
    "rollup_min": ("lowest", "最低"),
    "rollup_max": ("highest", "最高"),
    "family_environment": ("environment events", "环境类事件"),
    "family_traffic": ("traffic events", "交通类事件"),
    "family_water": ("water events", "水务类事件"),
    "family_power": ("power events", "电力类事件"),
    "family_case": ("case events", "案件类事件"),
    "district_stages": ("district stages", "各区等级"),
    "logout": ("log out", "退出"),
    "sound": ("sound", "声音"),
    "wall_mode": ("wall screen", "大屏模式"),
    "full_screen": ("full screen", "全屏"),
    "signed_in_as": (
        "signed in as {user} ({role}{district})",
        "当前用户 {user}（{role}{district}）",
    ),
    "live": ("live", "实时"),
    "refused": ("not permitted", "无权访问"),
    "not_found": ("not found", "未找到"),
    "bad_address": ("bad address", "地址无效"),
    "outside_scope": (
        "{subject} is outside your scope (district {district})",
        "{subject}不在您的权限范围内（{district}）",
    ),
    "no_such": ("no {subject}", "不存在：{subject}"),
    "role_may_not": ("the role {role} may not open this page", "{role}无权打开此页面"),
    "go_home": ("go to your view", "返回我的视图"),
    "data_unavailable": ("data source unavailable: {error}", "数据源不可用：{error}"),
    "alarm_banner": (
        "{n} unacknowledged orange/red alert(s): open the console",
        "{n} 条橙色/红色预警未确认：打开处置台",
    ),
    "no_data": ("no data yet", "暂无数据"),
    "none": ("none", "无"),
    # Roles.
    "role_city_commander": ("city commander", "市级指挥长"),
    "role_district_operator": ("district operator", "区级值班员"),
    "role_emergency_staff": ("emergency staff", "应急处置人员"),
    "role_engineer": ("engineer", "工程师"),
    "role_wall_screen": ("wall screen", "大屏"),
    # Tier pages.
    "stage": ("stage", "等级"),
    "stage_n": ("stage {n}", "{n}级"),
    "stage_history": ("stage history", "等级变化记录"),
    "stage_derived": ("derived from active alerts", "由活动预警推算"),
    "active_alerts": ("active alerts", "活动预警"),
    "unacknowledged": ("unacknowledged", "未确认"),
    "open_cases": ("open cases", "未结案件"),
    "overdue_cases": ("overdue cases", "超时案件"),
    "sensors": ("sensors", "传感器"),
    "events_per_min": ("events/min", "事件/分钟"),
    "below": ("below: {level}", "下辖{level}"),
    "map_title": ("warning level by area", "各区域预警等级"),
    "map_legend_sensors": ("sensors per cell", "每网格传感器数"),
    "worst_level": ("highest level", "最高等级"),
    "name": ("name", "名称"),
    "code": ("code", "编码"),
    "time": ("time (UTC)", "时间（UTC）"),
    "previous": ("previous", "之前"),
    "reason": ("reason", "原因"),
    "level": ("level", "等级"),
    "status": ("status", "状态"),
    "family": ("family", "类别"),
    "kind": ("kind", "类型"),
    "metrics": ("metrics", "指标"),
    "metric": ("metric", "指标"),
    "where": ("where", "位置"),
    "opened": ("opened", "发生时间"),
    "updated": ("updated", "更新时间"),
    "assignee": ("assignee", "处置人"),
    "acknowledged_by": ("acknowledged by", "确认人"),
    "subject": ("subject", "对象"),
    "evidence": ("evidence", "依据"),
    "no_alerts": ("no active alerts", "无活动预警"),
    "no_stage_changes": ("no stage changes yet", "暂无等级变化"),
    "activity": ("events/min (last 30 min)", "事件/分钟（近30分钟）"),
    # Alert console.
    "show": ("show", "显示"),
    "filter_open": ("open (active, acknowledged)", "未关闭（活动、已确认）"),
    "filter_all": ("all (incl. cleared, resolved)", "全部（含已解除、已处置）"),
    "select_alert": ("select an alert in the list", "请在列表中选择预警"),
    "audit_trail": ("audit trail", "处置记录"),
    "actor": ("actor", "操作人"),
    "comment": ("comment", "备注"),
    "kind_event": ("event", "事件"),
    "act": ("act on this alert", "处置此预警"),
    "action": ("action", "操作"),
    "send": ("send", "提交"),
    "read_only": ("read-only: this role does not act on alerts", "只读：此角色不能处置预警"),
    "action_acknowledge": ("acknowledge", "确认"),
    "action_assign": ("assign", "指派"),
    "action_comment": ("comment", "备注"),
    "action_escalate": ("escalate", "升级"),
    "action_resolve": ("resolve", "处置完成"),
    "action_sent": (
        "sent: {action} on {alert}; the worker records it (action {id})",
        "已提交：{alert} {action}；由后台写入记录（操作 {id}）",
    ),
    "event_raised": ("raised", "发布"),
    "event_level_changed": ("level changed", "等级变化"),
    "event_cleared": ("cleared", "解除"),
    "event_escalated": ("escalated", "升级"),
    "event_grouped": ("grouped", "归并"),
    "event_acknowledged": ("acknowledged", "已确认"),
    "event_incident_opened": ("incident opened", "事件开启"),
    "event_incident_widened": ("incident widened", "事件扩大"),
    "event_incident_escalated": ("incident escalated", "事件升级"),
    "event_incident_closed": ("incident closed", "事件关闭"),
    "status_active": ("active", "活动"),
    "status_acknowledged": ("acknowledged", "已确认"),
    "status_cleared": ("cleared", "已解除"),
    "status_resolved": ("resolved", "已处置"),
    "explanation": ("explanation", "说明"),
    # Cases.
    "category": ("category", "类别"),
    "step": ("step", "环节"),
    "due": ("due", "时限"),
    "limit": ("limit", "时限（分钟）"),
    "state": ("state", "状态"),
    "filter_overdue": ("overdue only", "仅超时"),
    "filter_open_cases": ("open", "未结"),
    "filter_all_cases": ("all", "全部"),
    "filter_my_department": ("my department", "本部门"),
    "lifecycle": ("lifecycle", "处置流程"),
    "case_text": ("report", "上报内容"),
    "no_cases": ("no cases", "无案件"),
    "limits_note": (
        "limits per step (minutes after the step before); some categories are tighter",
        "各环节时限（距上一环节的分钟数）；部分类别更严格",
    ),
    "step_filed": ("filed", "立案"),
    "step_dispatched": ("dispatched", "派遣"),
    "step_handled": ("handled", "处置"),
    "step_verified": ("verified", "核查"),
    "step_closed": ("closed", "结案"),
    "step_evaluated": ("evaluated", "评价"),
    "state_done": ("done", "完成"),
    "state_late": ("late", "超时完成"),
    "state_pending": ("pending", "进行中"),
    "state_overdue": ("overdue", "已超时"),
    "state_waiting": ("waiting", "待办"),
    "state_skipped": ("skipped", "未记录"),
    "cases_clock": ("case clock (newest case event): {t}", "案件时钟（最新案件事件）：{t}"),
    # Sensor.
    "series": ("readings", "读数"),
    "limits": ("static limits", "静态限值"),
    "forecast": ("forecast", "预测"),
    "sensor_alerts": ("alerts of this sensor", "此传感器的预警"),
    "cadence": ("cadence (s)", "采样周期（秒）"),
    "location": ("location", "位置"),
    # Data quality.
    "freshness": ("freshness", "时效"),
    "completeness": ("completeness", "完整率"),
    "dead_letter_rate": ("dead-letter rate (1 h)", "死信率（1小时）"),
    "expected_per_min": ("expected/min", "应收/分钟"),
    "received_per_min": ("received/min", "实收/分钟"),
    "last_data": ("last data", "最新数据"),
    "quality_note": (
        "freshness against the wall clock; completeness over the last {m} full minutes "
        "against each source's cadence; dead letters of the last hour",
        "时效以当前时间计；完整率为近{m}个完整分钟实收与按采样周期应收之比；死信为近1小时",
    ),
    "unattributed": ("(not attributable)", "（无法归属）"),
    # The data catalog (/catalog).
    "catalog_note": (
        "who owns each source family and source, what it promises and feeds; a source's "
        "own entry overrides its family's. Edit with citybrain-catalog (see the README).",
        "各数据源类别及数据源的责任部门、质量承诺与流向；数据源自身条目优先于其类别条目。"
        "用 citybrain-catalog 编辑（见 README）。",
    ),
    "catalog_read_only": ("read only", "只读"),
    "view_tier": ("area pages", "区域页面"),
    "view_sensor": ("sensor", "传感器"),
    "view_alerts": ("alert console", "预警处置台"),
    "view_quality": ("data quality", "数据质量"),
    "view_overview": ("overview", "总览"),
    "view_cases": ("cases", "案件"),
    "view_case": ("case", "案件详情"),
    "subject_family": ("family", "类别"),
    "subject_source": ("source", "数据源"),
    "catalog_key": ("family / source", "类别 / 数据源"),
    "owner": ("owning department", "责任部门"),
    "schema_version": ("schema", "模式版本"),
    "freshness_target": ("freshness target", "时效目标"),
    "completeness_target": ("completeness target", "完整率目标"),
    "allowance": ("allowance", "容许时长"),
    "feeds": ("feeds (topics, tables)", "流向（主题、数据表）"),
    "used_by": ("used by", "使用页面"),
    "shared_with": ("shared with", "共享部门"),
    "promise_status": ("promise now", "当前承诺"),
    "promise_kept": ("kept", "达标"),
    "promise_stale": ("stale", "数据陈旧"),
    "promise_incomplete": ("incomplete", "数据不全"),
    "changed_by": ("changed by", "修改人"),
    "unknown_department": ("unknown department {code}", "未知部门 {code}"),
    "no_catalog": (
        "the catalog is empty: write the reference data (citybrain-sim reference)",
        "数据目录为空：请写入参考数据（citybrain-sim reference）",
    ),
    # The city overview (/overview).
    "ov_subtitle": ("city overview · live", "城市总览 · 实时"),
    "ov_rate_title": ("events/s (whole city, per minute)", "每秒事件数（全市，按分钟）"),
    "ov_dead_title": ("dead letters by reason", "死信（按原因）"),
    "ov_dead_total": ("dead letters by reason (total {n})", "死信（按原因，共 {n} 条）"),
    "ov_kpi_rate": ("events/s (last full minute)", "每秒事件数（上一完整分钟）"),
    "ov_kpi_dead": ("dead letters (total)", "死信（合计）"),
    "ov_kpi_last": ("last data (event time)", "最新数据（事件时间）"),
    "ov_table_title": ("districts: latest 1-minute roll-up", "各区：最新1分钟汇总"),
    "ov_window": ("window (UTC)", "时间窗（UTC）"),
    "ov_count": ("count", "计数"),
    "ov_mean": ("mean", "均值"),
    "ov_min": ("min", "最小值"),
    "ov_max": ("max", "最大值"),
    "ov_map_title": ("{metric}: latest 1-minute mean", "{metric}：最新1分钟均值"),
    "ov_map_empty": ("{metric}: no data yet", "{metric}：暂无数据"),
    "ov_no_map": ("no district map yet", "暂无区划地图"),
    "ov_no_dead": ("no dead letters", "无死信"),
    "ov_no_value": ("no data", "无数据"),
    # Login.
    "login": ("log in", "登录"),
    "username": ("username", "用户名"),
    "password": ("password", "密码"),
    "login_failed": ("wrong username or password", "用户名或密码错误"),
    "session_expired": ("your session expired: log in again", "会话已过期，请重新登录"),
    "login_throttled_user": (
        "too many failed logins for this username: try again in {wait}",
        "该用户名登录失败次数过多，请在{wait}后重试",
    ),
    "login_throttled_address": (
        "too many failed logins from this address: try again in {wait}",
        "该地址登录失败次数过多，请在{wait}后重试",
    ),
    "wait_minutes": ("{n} min", "{n}分钟"),
    "wait_seconds": ("{n} s", "{n}秒"),
    # Silences and maintenance windows (/silences).
    "silences": ("silences", "静默"),
    "silences_note": (
        "a silenced alert is still recorded and shown, marked silenced, but notifies no one, "
        "does not escalate and does not change its area's stage",
        "被静默的预警仍会记录并显示（标为已静默），但不通知、不升级、不改变所在区域的等级",
    ),
    "silence_new": ("new silence or maintenance window", "新建静默/维护时段"),
    "silence_scope": ("scope", "范围"),
    "silence_value": (
        "sensor id or area code, family or metric",
        "传感器编号或区域编码、类别或指标",
    ),
    "silence_family": ("only this family (optional)", "仅此类别（可选）"),
    "silence_metric": ("only this metric (optional)", "仅此指标（可选）"),
    "silence_start": ("start (UTC, YYYY-MM-DD HH:MM; empty = now)", "开始（UTC，空=现在）"),
    "silence_hours": ("hours", "时长（小时）"),
    "silence_reason": ("reason", "原因"),
    "silence_create": ("create silence", "创建静默"),
    "silence_pick": ("silence", "静默"),
    "silence_expire": ("expire now", "立即结束"),
    "silence_delete": ("delete", "删除"),
    "silence_sent": (
        "sent: {action} {silence}; the worker records it (action {id})",
        "已提交：静默 {silence} {action}；由后台写入记录（操作 {id}）",
    ),
    "silence_bad_start": (
        "start must be YYYY-MM-DD HH:MM (UTC)",
        "开始时间格式应为 YYYY-MM-DD HH:MM（UTC）",
    ),
    "silence_filters": ("only", "仅限"),
    "silence_bad_hours": ("hours must be a number above 0", "时长须为大于0的数字"),
    "silence_read_only": (
        "read-only: this role does not make or end silences",
        "只读：此角色不能创建或结束静默",
    ),
    "no_silences": ("no silences", "暂无静默"),
    "silenced": ("silenced", "已静默"),
    "silence_window": ("window (UTC)", "时段（UTC）"),
    "silence_author": ("author", "创建人"),
    "silence_by": ("changed by", "变更人"),
    "scope_sensor": ("sensor", "传感器"),
    "scope_cell": ("grid cell", "网格"),
    "scope_street": ("street", "街道"),
    "scope_district": ("district", "区"),
    "scope_family": ("family", "类别"),
    "scope_metric": ("metric", "指标"),
    "silence_status_active": ("active", "生效"),
    "silence_status_expired": ("expired", "已结束"),
    "silence_status_deleted": ("deleted", "已删除"),
    "silence_status_pending": ("pending", "待生效"),
    "action_create_silence": ("create silence", "创建静默"),
    "action_expire_silence": ("expire silence", "结束静默"),
    "action_delete_silence": ("delete silence", "删除静默"),
    "event_silenced": ("silenced", "已静默"),
    "event_unsilenced": ("silence ended", "静默结束"),
    # Views: the last complete minute, alerts marked on charts, a sensor's alerting metrics.
    "last_complete_minute": ("last complete minute {minute} UTC", "最近完整分钟 {minute} UTC"),
    "no_complete_minute": ("no complete minute yet", "尚无完整分钟"),
    "alerting_metrics": ("active alerts on", "有活动预警的指标"),
    "no_alerting_metrics": ("no active alert on this sensor", "该传感器无活动预警"),
    "alert_marks": ("alerts", "预警"),
    "incident_marks": ("incidents", "事件"),
    "mark_opened": ("opened {time} UTC", "发生于 {time} UTC"),
    # Demo drills (citybrain-sim run --demo).
    "drill_banner": ("DRILL: {title} in {area}", "演练：{area}{title}"),
    "drill_note": (
        "an exercise, not a real incident: its alerts and incidents are marked DRILL; "
        "until {until}",
        "这是演练，不是真实事件：其告警和事件标为“演练”；至{until}",
    ),
    "drill_mark": ("DRILL", "演练"),
    "drill_alerts": ("drill alerts:", "演练告警："),
    "drill_incident": ("incident", "事件"),
    "step_accepted": ("accepted", "受理"),
    "step_sent_back": ("sent back", "退回"),
    "case_act": ("act on this case", "处置此案件"),
    "case_read_only": ("read-only: this role does not act on cases", "只读：此角色不能处置案件"),
    "case_action_dispatch": ("dispatch to a department", "派遣"),
    "case_action_accept": ("accept (department)", "受理"),
    "case_action_handle": ("mark handled", "处置完毕"),
    "case_action_verify": ("verify: passed", "核查通过"),
    "case_action_send_back": ("verify: send back", "核查不通过，退回"),
    "case_action_close": ("close", "结案"),
    "case_action_evaluate": ("evaluate", "评价"),
    "department": ("department", "责任部门"),
    "score": ("score (1-5)", "评分（1-5）"),
    "case_action_sent": (
        "sent: {action} on case {case}; the worker records it (action {id})",
        "已提交：案件 {case} {action}；由后台写入记录（操作 {id}）",
    ),
    "unknown_case": (
        "unknown case {case} (or not in your scope): nothing sent",
        "未知案件 {case}（或不在您的范围内）：未提交",
    ),
    "case_next": ("next: {actions}", "下一步：{actions}"),
    "escalated_to": ("overdue, escalated to the {tier} center", "已超时，升级至{tier}指挥中心"),
    "case_trail": ("case steps (audit trail)", "案件处置记录"),
}


def t(key: str, lang: str = "en", **values: object) -> str:
    """The label ``key`` in ``lang`` ('en' or 'zh'), with ``{name}`` fields filled in."""
    en, zh = LABELS[key]
    text = zh if lang == "zh" else en
    return text.format(**values) if values else text


def event_kind(kind: str, lang: str) -> str:
    """An audit-trail event's kind (the worker's or an operator action) in ``lang``."""
    for key in (f"event_{kind}", f"action_{kind}"):
        if key in LABELS:
            return t(key, lang)
    return kind


def explain(exc: Exception, lang: str) -> str:
    """A refusal (ScopeError) or an unknown subject (NotFound) in the viewer's language;
    any other error as its own message."""
    level = getattr(exc, "level", None) or getattr(exc, "kind", None)
    code = getattr(exc, "code", "")
    if not isinstance(level, str) or level not in LABELS:
        return str(exc)
    subject = f"{t(level, lang)} {code}".strip()
    if hasattr(exc, "district"):
        return t("outside_scope", lang, subject=subject, district=getattr(exc, "district", ""))
    return t("no_such", lang, subject=subject)


def normalise(lang: object) -> str:
    """A language the page can show: 'zh' or 'en'."""
    return "zh" if lang == "zh" else "en"
