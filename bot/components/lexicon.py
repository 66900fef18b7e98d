"""Words the NLU recognises besides the catalog: extra service synonyms, Hanoi place names,
and the choices of the LLTP form (which phiếu, for whom).

All phrases are written naturally; matching happens on folded text (see knowledge.textnorm.fold),
so each phrase covers its no-diacritics spelling too.
"""
from __future__ import annotations

# Extra ways citizens name a service, beyond knowledge/catalog.yml (which another team owns).
# Colloquial names, old names, and common abbreviations.
SERVICE_SYNONYMS: dict[str, list[str]] = {
    "ly-lich-tu-phap": ["lí lịch tư pháp", "phiếu lý lịch", "phiếu lí lịch",
                        "lý lịch tp", "xác nhận không tiền án", "giấy không tiền án tiền sự",
                        "phiếu lý lịch tư pháp số 1", "phiếu lý lịch tư pháp số 2"],
    "can-cuoc": ["căn cước", "cccd gắn chip", "thẻ cccd", "chứng minh thư", "chứng minh nhân dân",
                 "cmnd", "cmt", "thẻ căn cước công dân", "căn cước gắn chip"],
    "tam-tru": ["tạm trú", "khai báo tạm trú", "đăng kí tạm trú"],
    "thuong-tru": ["thường trú", "hộ khẩu", "đăng kí thường trú", "nhập khẩu cho con"],
    "khai-sinh": ["khai sinh", "đăng kí khai sinh", "làm giấy khai sinh", "giấy khai sinh cho con"],
    "khai-tu": ["khai tử", "đăng kí khai tử", "báo tử"],
    "ket-hon": ["kết hôn", "đăng kí kết hôn", "giấy đăng ký kết hôn", "xác nhận độc thân"],
    "ho-chieu": ["hộ chiếu phổ thông", "xin hộ chiếu", "cấp hộ chiếu", "hộ chiếu online"],
    "giay-phep-lai-xe": ["bằng lái", "giấy phép lái xe", "bằng lái xe máy", "bằng lái ô tô",
                         "đổi bằng lái xe"],
    "dinh-danh-muc-2": ["mức 2", "mức độ 2", "định danh điện tử mức 2", "vneid mức độ 2",
                        "tài khoản định danh mức 2"],
    "dinh-danh-muc-1": ["mức 1", "mức độ 1", "tài khoản định danh mức 1"],
    "vneid-tai-khoan": ["tài khoản vneid", "ứng dụng vneid", "app vneid", "mật khẩu vneid",
                        "bị khóa vneid", "vneid bị khóa"],
    "bao-hiem-y-te": ["bảo hiểm y tế", "bhyt", "thẻ bhyt"],
    "bao-hiem-xa-hoi": ["bảo hiểm xã hội", "bhxh", "bhxh một lần"],
    "xac-nhan-cu-tru": ["ct07", "mẫu ct07", "giấy xác nhận thông tin cư trú"],
    "nop-phat-giao-thong": ["nộp phạt", "phạt nguội giao thông", "nộp phạt vi phạm giao thông"],
    "dang-ky-xe": ["biển số", "đăng kí xe", "cà vẹt"],
    "thue-dien-tu": ["quyết toán thuế thu nhập cá nhân", "thuế thu nhập cá nhân"],
    "ho-tro-nguoi-dan": ["tổ công nghệ số", "tổ cnscđ", "tổ công nghệ"],
    "cong-dich-vu-cong": ["dịch vụ công quốc gia", "cổng dvc", "cổng dvcqg"],
}

# Hanoi place names (former districts and well-known wards). A name counts as a location
# only after a place word ("phường Cầu Giấy", "ở Đống Đa") or when typed capitalised, because
# folded, several of them are ordinary words.
HANOI_LOCATIONS: list[str] = [
    # the 30 former districts and towns
    "Ba Đình", "Hoàn Kiếm", "Tây Hồ", "Long Biên", "Cầu Giấy", "Đống Đa", "Hai Bà Trưng",
    "Hoàng Mai", "Thanh Xuân", "Nam Từ Liêm", "Bắc Từ Liêm", "Hà Đông", "Sơn Tây", "Ba Vì",
    "Phúc Thọ", "Đan Phượng", "Hoài Đức", "Quốc Oai", "Thạch Thất", "Chương Mỹ", "Thanh Oai",
    "Thường Tín", "Phú Xuyên", "Ứng Hòa", "Mỹ Đức", "Thanh Trì", "Gia Lâm", "Đông Anh",
    "Sóc Sơn", "Mê Linh",
    # well-known wards of the two-level government (from 1 July 2025)
    "Ngọc Hà", "Giảng Võ", "Cửa Nam", "Hồng Hà", "Bồ Đề", "Việt Hưng", "Phúc Lợi", "Nghĩa Đô",
    "Yên Hòa", "Kim Liên", "Ô Chợ Dừa", "Vĩnh Tuy", "Bạch Mai", "Định Công", "Hoàng Liệt",
    "Yên Sở", "Lĩnh Nam", "Vĩnh Hưng", "Tương Mai", "Khương Đình", "Phương Liệt", "Dương Nội",
    "Yên Nghĩa", "Kiến Hưng", "Xuân Phương", "Tây Mỗ", "Đại Mỗ", "Thượng Cát", "Đông Ngạc",
    "Xuân Đỉnh", "Tây Tựu", "Phú Thượng", "Tùng Thiện", "Từ Liêm",
]

# Folded words that announce a place name.
PLACE_WORDS: list[str] = ["phuong", "quan", "huyen", "xa", "thi xa", "o", "tai", "khu vuc",
                          "dia ban", "song o", "nha o"]

# Which Phiếu lý lịch tư pháp: value -> phrases (folded matching, longest first).
LLTP_TYPE_CUES: dict[str, list[str]] = {
    "phieu_1": ["phiếu số 1", "phiếu 1", "số 1", "loại 1", "phiếu số một", "số một", "mẫu số 1"],
    "phieu_2": ["phiếu số 2", "phiếu 2", "số 2", "loại 2", "phiếu số hai", "số hai", "mẫu số 2"],
}

# For whom the phiếu is requested. "cho tôi/cho anh/cho con ..." followed by "hỏi", "biết" is
# a polite way to ask ("cho tôi hỏi"), not a requester; see ASK_VERBS.
LLTP_REQUESTER_CUES: dict[str, list[str]] = {
    "ban_than": ["bản thân", "cho tôi", "cho mình", "chính tôi", "chính mình", "của tôi",
                 "tự làm", "tự xin", "tôi tự", "cho chính tôi", "của mình", "cá nhân tôi"],
    "nguoi_than": ["người thân", "người nhà", "làm hộ", "làm thay", "xin hộ", "xin thay",
                   "ủy quyền", "uỷ quyền", "cho con", "cho bố", "cho mẹ", "cho vợ", "cho chồng",
                   "cho anh", "cho chị", "cho ông", "cho bà", "cho ba", "cho má", "cho bố mẹ",
                   "cho cha", "cho người khác", "người khác", "hộ người", "cho con tôi",
                   "cho em tôi", "cho anh tôi", "cho chị tôi"],
}

# Folded words after "cho <person>" that make it a request to the bot ("cho em hỏi",
# "cho tôi gặp người thật"), not a requester.
ASK_VERBS: set[str] = {"hoi", "biet", "xin", "duoc", "tham", "nho", "thac", "gap", "noi", "xem",
                       "chuyen", "ket", "lam", "tra", "goi"}
