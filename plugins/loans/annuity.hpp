// Loan arithmetic: the annuity (equal monthly payment) formula and a quote rounded to cents.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>

namespace teller::skills::loans {

/// The equal monthly payment that repays `principal` over `months` at `annual_rate_percent`
/// (nominal, compounded monthly): M = P*r / (1 - (1 + r)^-n) with r = annual rate / 12 / 100,
/// or P / n when the rate is 0. Not rounded. nullopt when principal or rate is negative or not
/// finite, or months is not positive. Thread-safe (pure).
inline std::optional<double> annuity_payment(double principal, double annual_rate_percent,
                                             int months) {
    if (!std::isfinite(principal) || !std::isfinite(annual_rate_percent) || principal < 0.0 ||
        annual_rate_percent < 0.0 || months <= 0) {
        return std::nullopt;
    }
    const double r = annual_rate_percent / 100.0 / 12.0;
    if (r == 0.0) {
        return principal / months;
    }
    return principal * r / (1.0 - std::pow(1.0 + r, -static_cast<double>(months)));
}

/// A payment plan in whole cents.
struct Quote {
    std::int64_t monthly_cents = 0;         ///< the payment, rounded half away from zero
    std::int64_t total_interest_cents = 0;  ///< exact payment * months - principal, rounded
};

/// annuity_payment rounded to cents, with the interest paid over the whole term (computed from
/// the unrounded payment: the last instalment absorbs the rounding, so a 0% loan costs 0).
/// nullopt on the inputs annuity_payment refuses. Thread-safe (pure).
inline std::optional<Quote> quote(double principal, double annual_rate_percent, int months) {
    std::optional<double> m = annuity_payment(principal, annual_rate_percent, months);
    if (!m) {
        return std::nullopt;
    }
    return Quote{std::llround(*m * 100.0), std::llround((*m * months - principal) * 100.0)};
}

}  // namespace teller::skills::loans
