"""Development competitions for tabular data, each written in Kaggle's layout.

`make(name, folder)` writes `folder/data/raw/{train,test,sample_submission}.csv` and the hidden
answers as `folder/test_labels.csv` (id + targets), and returns
`{"metric", "id", "target", "targets", "kind", "classes", "positive"}` (`target`: the one
target, None where there are several; `targets`: all of them, each a column of train.csv and
test_labels.csv and absent from test.csv; `classes`: the sample's probability columns for log
loss, else None; `positive`: the class whose probability AUC scores, 1 unless the competition
names one). The split is 75/25 with seed 0, stratified on the target (on the targets'
combinations where there are several) for classification, random for regression; the rows are
shuffled first and numbered from 1 (train first), so the id says nothing about the target.

    .venv/bin/python benchmarks/tabular_data.py NAME OUTDIR      # one competition
    .venv/bin/python benchmarks/tabular_data.py --list          # the names

The competitions (rows before the split):

  titanic_cars      binary, accuracy   vega cars: is the car American? `Name` (mostly unique text),
                                       cylinders, displacement, horsepower (6 empty), weight,
                                       acceleration, `Year` as YYYY-MM-DD; id `PassengerId`
  penguins_sex_auc  binary, AUC        penguins with a known sex: sex (male=1) from species, island,
                                       measurements, year; id `id`
  penguins_species  multiclass, log loss   species from island, measurements (empty cells),
                                       sex (empty cells), year; one probability column a class
  weather           multiclass, accuracy   Seattle weather (sun/fog/rain/drizzle/snow) from `date`,
                                       precipitation, temperatures and wind
  cars_mpg          regression, RMSE   vega cars' Miles_per_Gallon (rows with it), with Name, Origin
                                       and empty Horsepower cells; id `Id`
  diabetes          regression, RMSE   scikit-learn's diabetes (unscaled)
  house_prices      regression, RMSLE  3,000 generated houses, 23 mixed columns, skewed SalePrice; id `Id`
  dated_15k         regression, RMSE   15,000 generated daily sales rows with weekly and yearly
                                       seasonality, two text columns, empty numeric cells
  reg_40k           regression, RMSE   40,000 generated rows, 12 mixed columns, interactions
  mixed_50k         binary, AUC        50,000 generated rows x 30 columns: 20 numeric (5% empty),
                                       8 text (3-40 levels), a True/False column and a date
  penguins_chinstrap_auc  binary, AUC of "Chinstrap"   penguins: `species_group` as text,
                                       "Chinstrap" (the rarer, 68 of 344) or "other", from island,
                                       measurements (empty cells), sex, year; species dropped
  events_iso_auc    binary, AUC of "bad"   6,000 generated events: `created_at` as ISO 8601 UTC
                                       (2015-06-01T10:23:13Z, a fifth with milliseconds .250Z)
                                       whose hour and weekday drive the target, two counts, a
                                       channel; `outcome` "good"/"bad" (about a quarter bad)
  weather_map3      multiclass, MAP@3  Seattle weather as `weather` above; sample "sun rain fog"
  fertilizer_map3   multiclass, MAP@3  8,000 generated rows in Playground S5E6's shape: Temperature,
                                       Humidity, Moisture, Soil Type, Crop Type, Nitrogen,
                                       Potassium, Phosphorous -> `Fertilizer Name` (7 classes),
                                       drawn with much noise; sample "14-35-14 10-26-26 Urea"
  two_targets_auc   2 binaries, mean AUC   5,000 generated rows in Playground S3E18's shape: 12
                                       numeric descriptors -> `EC1` and `EC2` (0/1, correlated),
                                       both in train.csv; sample `id,EC1,EC2` with 0.5
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

SEED = 0


# -- tables: (frame without id, spec) ----------------------------------------------------------

def _titanic_cars() -> tuple[pd.DataFrame, dict]:
    from vega_datasets import data
    cars = data.cars()
    cars["american"] = (cars.pop("Origin") == "USA").astype(int)
    cars = cars.drop(columns="Miles_per_Gallon")
    cars["Year"] = cars["Year"].dt.strftime("%Y-%m-%d")
    return cars, dict(metric="accuracy", id="PassengerId", target="american", kind="binary",
                      sample=0)


def _penguins_sex_auc() -> tuple[pd.DataFrame, dict]:
    from palmerpenguins import load_penguins
    frame = load_penguins()
    frame = frame[frame["sex"].notna()].reset_index(drop=True)
    frame["sex"] = (frame["sex"] == "male").astype(int)
    return frame, dict(metric="auc", id="id", target="sex", kind="binary", sample=0.5)


def _penguins_species() -> tuple[pd.DataFrame, dict]:
    from palmerpenguins import load_penguins
    return load_penguins(), dict(metric="logloss", id="id", target="species", kind="multiclass")


def _weather() -> tuple[pd.DataFrame, dict]:
    from vega_datasets import data
    frame = data.seattle_weather()
    frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")
    return frame, dict(metric="accuracy", id="id", target="weather", kind="multiclass",
                       sample="sun")


def _cars_mpg() -> tuple[pd.DataFrame, dict]:
    from vega_datasets import data
    cars = data.cars()
    cars = cars[cars["Miles_per_Gallon"].notna()].reset_index(drop=True)
    cars["Year"] = cars["Year"].dt.strftime("%Y-%m-%d")
    return cars, dict(metric="rmse", id="Id", target="Miles_per_Gallon", kind="regression",
                      sample="mean")


def _diabetes() -> tuple[pd.DataFrame, dict]:
    from sklearn.datasets import load_diabetes
    frame = load_diabetes(as_frame=True, scaled=False).frame
    return frame, dict(metric="rmse", id="id", target="target", kind="regression", sample="mean")


def _empty(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """`values` as floats with `share` of the cells empty (NaN)."""
    out = values.astype(float).copy()
    out[rng.random(len(out)) < share] = np.nan
    return out


def _levels(prefix: str, n: int) -> np.ndarray:
    return np.array([f"{prefix}{i:02d}" for i in range(n)])


def _house_prices(n: int = 3000) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(101)
    hoods = np.array(["Blmngtn", "Blueste", "BrDale", "BrkSide", "ClearCr", "CollgCr", "Crawfor",
                      "Edwards", "Gilbert", "IDOTRR", "MeadowV", "Mitchel", "NAmes", "NPkVill",
                      "NWAmes", "NoRidge", "NridgHt", "OldTown", "SWISU", "Sawyer", "SawyerW",
                      "Somerst", "StoneBr", "Timber", "Veenker"])
    hood_effect = rng.normal(0, 0.18, len(hoods))
    hood = rng.choice(len(hoods), n, p=rng.dirichlet(np.full(len(hoods), 2.0)))
    quality = np.clip(np.round(rng.normal(6 + 2.5 * hood_effect[hood], 1.3, n)), 1, 10).astype(int)
    grades = np.array(["Po", "Fa", "TA", "Gd", "Ex"])
    grade = lambda shift: grades[np.clip(np.round((quality - 1) / 2.2 + shift
                                                  + rng.normal(0, 0.6, n)), 0, 4).astype(int)]
    year_built = np.clip(np.round(1872 + 138 * rng.beta(2.2 + quality / 3, 1.6, n)), 1872, 2010).astype(int)
    remod = np.maximum(year_built, np.clip(year_built + rng.integers(0, 60, n), None, 2010))
    area = np.round(np.exp(rng.normal(np.log(1500) + 0.05 * (quality - 6), 0.3, n)))
    lot = np.round(np.exp(rng.normal(np.log(9500), 0.45, n)))
    has_basement = rng.random(n) > 0.03
    basement = np.where(has_basement, np.round(area * rng.uniform(0.5, 1.05, n)), 0)
    garage_cars = np.clip(np.round(rng.normal(1.2 + 0.15 * (quality - 5), 0.7, n)), 0, 4).astype(int)
    garage_area = np.round(garage_cars * rng.normal(260, 40, n))
    zoning = rng.choice(["RL", "RM", "FV", "RH", "C (all)"], n, p=[0.78, 0.15, 0.045, 0.015, 0.01])
    bldg = rng.choice(["1Fam", "TwnhsE", "Duplex", "Twnhs", "2fmCon"], n, p=[0.83, 0.08, 0.04, 0.03, 0.02])
    style = rng.choice(["1Story", "2Story", "1.5Fin", "SLvl", "SFoyer"], n, p=[0.5, 0.3, 0.1, 0.05, 0.05])
    central_air = np.where(rng.random(n) < 0.93 - 0.3 * (year_built < 1940), "Y", "N")
    fireplaces = rng.poisson(0.2 + 0.12 * (quality - 3).clip(0), n).clip(0, 3)
    full_bath = np.clip(np.round(area / 900 + rng.normal(0, 0.4, n)), 0, 4).astype(int)
    bedrooms = np.clip(np.round(area / 520 + rng.normal(0, 0.6, n)), 0, 8).astype(int)
    condition = np.clip(np.round(rng.normal(5.6, 1.1, n)), 1, 9).astype(int)
    exter_qual, kitchen_qual = grade(0.0), grade(0.2)
    bsmt_qual = np.where(has_basement, grade(0.3), None)
    garage_finish = np.where(garage_cars > 0, rng.choice(["Unf", "RFn", "Fin"], n, p=[0.45, 0.3, 0.25]), None)
    yr_sold = rng.integers(2006, 2011, n)
    mo_sold = rng.choice(np.arange(1, 13), n, p=np.array([3, 4, 6, 9, 12, 14, 13, 8, 6, 5, 4, 3]) / 87)
    grade_num = {g: i for i, g in enumerate(grades)}
    kitchen_num = np.array([grade_num[g] for g in kitchen_qual])
    log_price = (12.02 + 0.085 * (quality - 6) + 0.012 * (quality - 6) ** 2
                 + 0.45 * np.log(area / 1500) + 0.08 * np.log(lot / 9500)
                 + hood_effect[hood] + 0.0022 * (year_built - 1970) + 0.0012 * (remod - year_built)
                 + 0.035 * garage_cars + 0.04 * fireplaces + 0.03 * (kitchen_num - 2)
                 + 0.03 * (condition - 5) * (year_built < 1960) + 0.1 * (central_air == "Y")
                 - 0.12 * (zoning == "C (all)") - 0.05 * (zoning == "RM") + 0.05 * (zoning == "FV")
                 - 0.06 * (bldg != "1Fam") + 0.00012 * basement * has_basement / 10
                 - 0.02 * (yr_sold - 2006) * (yr_sold >= 2008))
    price = np.round(np.exp(log_price + rng.normal(0, 0.11, n)) / 100) * 100
    frame = pd.DataFrame({
        "MSZoning": zoning, "LotFrontage": _empty(rng, np.round(np.sqrt(lot) * rng.uniform(0.5, 1.0, n)), 0.17),
        "LotArea": lot.astype(int), "Neighborhood": hoods[hood], "BldgType": bldg, "HouseStyle": style,
        "OverallQual": quality, "OverallCond": condition, "YearBuilt": year_built, "YearRemodAdd": remod,
        "ExterQual": exter_qual, "BsmtQual": bsmt_qual,
        "TotalBsmtSF": _empty(rng, basement, 0.02), "CentralAir": central_air,
        "GrLivArea": area.astype(int), "FullBath": full_bath, "BedroomAbvGr": bedrooms,
        "KitchenQual": kitchen_qual, "Fireplaces": fireplaces, "GarageFinish": garage_finish,
        "GarageArea": _empty(rng, garage_area, 0.01), "MoSold": mo_sold, "YrSold": yr_sold,
        "SalePrice": price.astype(int)})
    return frame, dict(metric="rmsle", id="Id", target="SalePrice", kind="regression", sample=180000)


def _dated_15k(n: int = 15000) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(102)
    days = pd.date_range("2014-01-01", "2018-12-31", freq="D")
    date = days[rng.integers(0, len(days), n)]
    stores = _levels("store_", 12)
    families = np.array(["GROCERY", "BEVERAGES", "PRODUCE", "CLEANING", "DAIRY", "BREAD",
                         "POULTRY", "MEATS", "DELI"])
    store_effect, family_effect = rng.normal(0, 8, len(stores)), rng.normal(0, 12, len(families))
    store, family = rng.integers(0, len(stores), n), rng.integers(0, len(families), n)
    weekday = np.asarray(date.day_of_week)
    yearly = 2 * np.pi * np.asarray(date.day_of_year) / 365.25
    years = np.asarray((date - days[0]).days) / 365.25
    promo = rng.poisson(1.5, n)
    temperature = 12 + 10 * np.sin(yearly - 1.9) + rng.normal(0, 3, n)
    oil = 60 + 15 * np.sin(years * 1.3) + rng.normal(0, 4, n)
    week_shape = np.array([0, -3, -2, 1, 6, 14, 10])
    sales = (60 + store_effect[store] + family_effect[family] + 4 * years
             + week_shape[weekday] * (1 + 0.3 * (family_effect[family] > 0))
             + 9 * np.sin(yearly) + 5 * np.cos(2 * yearly) + 18 * (np.asarray(date.day_of_year) > 350)
             + 3.5 * promo * (1 + (family < 3)) - 0.15 * (oil - 60)
             + 0.4 * np.abs(temperature - 15) * (family == 2) + rng.normal(0, 6, n))
    frame = pd.DataFrame({
        "date": date.strftime("%Y-%m-%d"), "store": stores[store], "family": families[family],
        "onpromotion": promo, "temperature": _empty(rng, np.round(temperature, 1), 0.06),
        "oil_price": _empty(rng, np.round(oil, 2), 0.1), "sales": np.round(sales, 2)})
    return frame, dict(metric="rmse", id="id", target="sales", kind="regression", sample="mean")


def _reg_40k(n: int = 40000) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(103)
    colours = np.array(["red", "green", "blue", "black", "white", "silver"])
    regions = _levels("region_", 15)
    brands = _levels("brand_", 40)
    colour, region = rng.integers(0, len(colours), n), rng.integers(0, len(regions), n)
    brand = rng.choice(len(brands), n, p=rng.dirichlet(np.ones(len(brands))))
    region_effect, brand_effect = rng.normal(0, 1.5, len(regions)), rng.normal(0, 2, len(brands))
    colour_slope = rng.normal(0, 1.2, len(colours))
    x = rng.normal(size=(n, 7))
    age = rng.uniform(0, 30, n)
    premium = rng.random(n) < 0.3
    y = (3 * np.sin(1.5 * x[:, 0]) + 1.5 * x[:, 1] ** 2 + colour_slope[colour] * x[:, 2]
         + region_effect[region] + brand_effect[brand] * (1 + premium)
         + 2 * (x[:, 3] > 0.5) * x[:, 4] - 0.15 * age + 0.004 * age ** 2
         + 1.2 * x[:, 5] * x[:, 6] + rng.normal(0, 1.5, n))
    frame = pd.DataFrame({"colour": colours[colour], "region": regions[region], "brand": brands[brand],
                          "premium": np.where(premium, "yes", "no"),
                          "age": _empty(rng, np.round(age, 1), 0.04)})
    for j in range(7):
        frame[f"x{j}"] = _empty(rng, np.round(x[:, j], 4), 0.03 if j % 2 else 0.0)
    frame["y"] = np.round(y, 4)
    return frame, dict(metric="rmse", id="id", target="y", kind="regression", sample="mean")


def _mixed_50k(n: int = 50000) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(104)
    x = rng.normal(size=(n, 20))
    weights = rng.normal(0, 0.35, 20) * (rng.random(20) < 0.6)
    logit = x @ weights + 0.6 * np.sin(2 * x[:, 0]) + 0.5 * x[:, 1] * x[:, 2] - 0.3 * x[:, 3] ** 2
    frame = pd.DataFrame({f"num_{j}": _empty(rng, np.round(x[:, j] * (1 + j) + 10 * j, 4), 0.05)
                          for j in range(20)})
    for j, levels in enumerate([3, 5, 8, 12, 18, 25, 32, 40]):
        names = _levels(f"c{j}_", levels)
        codes = rng.choice(levels, n, p=rng.dirichlet(np.full(levels, 1.5)))
        effect = rng.normal(0, 0.5 if j < 5 else 0.25, levels)
        logit += effect[codes]
        frame[f"cat_{j}"] = names[codes]
    flag = rng.random(n) < 0.4
    logit += 0.4 * flag * (x[:, 4] > 0)
    frame["flag"] = flag
    days = pd.date_range("2019-01-01", "2023-12-31", freq="D")
    date = days[rng.integers(0, len(days), n)]
    logit += 0.35 * np.cos(2 * np.pi * np.asarray(date.day_of_year) / 365.25) + 0.1 * (date.year - 2021)
    frame["signup_date"] = date.strftime("%Y-%m-%d")
    frame["target"] = (rng.random(n) < 1 / (1 + np.exp(-(logit - 0.4)))).astype(int)
    return frame, dict(metric="auc", id="id", target="target", kind="binary", sample=0.5)


def _penguins_chinstrap_auc() -> tuple[pd.DataFrame, dict]:
    from palmerpenguins import load_penguins
    frame = load_penguins()
    frame["species_group"] = np.where(frame.pop("species") == "Chinstrap", "Chinstrap", "other")
    return frame, dict(metric="auc", id="id", target="species_group", kind="binary", sample=0.5,
                       positive="Chinstrap")


def _iso_time(rng: np.random.Generator, moments: pd.DatetimeIndex, share_fractional: float) -> np.ndarray:
    """`moments` as ISO 8601 UTC text (2015-06-01T10:23:13Z), `share_fractional` with milliseconds."""
    whole = np.asarray(moments.strftime("%Y-%m-%dT%H:%M:%S"), dtype=object)
    millis = rng.integers(0, 1000, len(moments))
    fractional = rng.random(len(moments)) < share_fractional
    return np.array([f"{w}.{m:03d}Z" if f else f"{w}Z" for w, m, f in zip(whole, millis, fractional)])


def _events_iso_auc(n: int = 6000) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(105)
    start = pd.Timestamp("2015-01-01")
    moments = start + pd.to_timedelta(rng.integers(0, 2 * 365 * 86400, n), unit="s")
    hour, weekday = np.asarray(moments.hour), np.asarray(moments.day_of_week)
    hour_effect = 1.1 * np.cos(2 * np.pi * (hour - 3) / 24) + 0.9 * ((hour >= 1) & (hour <= 4))
    weekday_effect = np.array([-0.3, -0.2, -0.2, 0.0, 0.2, 0.8, 0.9])
    channels = np.array(["web", "app", "email", "partner", "ads"])
    channel = rng.choice(len(channels), n, p=[0.4, 0.3, 0.12, 0.1, 0.08])
    channel_effect = np.array([0.0, -0.3, 0.2, 0.5, 0.7])
    sessions = rng.poisson(3.0, n)
    errors = rng.poisson(0.4 + 0.3 * (hour < 6), n)
    logit = (-1.9 + hour_effect + weekday_effect[weekday] + channel_effect[channel]
             - 0.12 * (sessions - 3) + 0.45 * errors)
    bad = rng.random(n) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame({"created_at": _iso_time(rng, moments, 0.2), "sessions": sessions,
                          "errors": errors, "channel": channels[channel],
                          "outcome": np.where(bad, "bad", "good")})
    return frame, dict(metric="auc", id="id", target="outcome", kind="binary", sample=0.5,
                       positive="bad")


def _weather_map3() -> tuple[pd.DataFrame, dict]:
    frame, _ = _weather()
    return frame, dict(metric="map@3", id="id", target="weather", kind="multiclass",
                       sample="sun rain fog")


def _fertilizer_map3(n: int = 8000) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(106)
    fertilizers = np.array(["14-35-14", "10-26-26", "17-17-17", "28-28", "20-20", "DAP", "Urea"])
    soils = np.array(["Sandy", "Loamy", "Black", "Red", "Clayey"])
    crops = np.array(["Maize", "Sugarcane", "Cotton", "Tobacco", "Paddy", "Barley", "Wheat",
                      "Millets", "Oil seeds", "Pulses", "Ground Nuts"])
    soil, crop = rng.integers(0, len(soils), n), rng.integers(0, len(crops), n)
    temperature, humidity = rng.integers(25, 39, n), rng.integers(50, 73, n)
    moisture = rng.integers(25, 66, n)
    nitrogen, potassium, phosphorous = rng.integers(4, 43, n), rng.integers(0, 20, n), rng.integers(0, 43, n)
    low_n, low_k, low_p = (20 - nitrogen) / 10, (10 - potassium) / 5, (20 - phosphorous) / 10
    # each fertilizer's appeal: the nutrients it supplies against what the soil lacks
    appeal = np.column_stack([0.4 * low_p + 0.3 * low_k, 0.5 * low_k + 0.3 * low_p,
                              0.2 * (low_n + low_k + low_p), 0.5 * low_n + 0.3 * low_p,
                              0.4 * low_n + 0.1 * low_p - 0.2 * low_k, 0.8 * low_p, 1.0 * low_n])
    appeal += rng.normal(0, 0.5, (len(crops), 7))[crop] + rng.normal(0, 0.3, (len(soils), 7))[soil]
    appeal[:, 6] += 0.03 * (temperature - 32)
    appeal[:, 1] += 0.02 * (moisture - 45)
    appeal += rng.gumbel(0, 1.0, (n, 7))  # the noise: a softmax draw, as in the competition
    frame = pd.DataFrame({"Temperature": temperature, "Humidity": humidity, "Moisture": moisture,
                          "Soil Type": soils[soil], "Crop Type": crops[crop], "Nitrogen": nitrogen,
                          "Potassium": potassium, "Phosphorous": phosphorous,
                          "Fertilizer Name": fertilizers[appeal.argmax(axis=1)]})
    return frame, dict(metric="map@3", id="id", target="Fertilizer Name", kind="multiclass",
                       sample="14-35-14 10-26-26 Urea")


def _two_targets_auc(n: int = 5000) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(107)
    names = ["BertzCT", "Chi1", "Chi1v", "Chi2n", "Chi3v", "EState_VSA1", "ExactMolWt",
             "FpDensityMorgan1", "HallKierAlpha", "Kappa3", "MinEStateIndex", "NumHeteroatoms"]
    size = rng.normal(0, 1, n)  # molecule size: most descriptors grow with it
    loadings = rng.uniform(0.3, 0.9, len(names)) * np.where(np.arange(len(names)) % 4 == 3, -1, 1)
    x = size[:, None] * loadings + rng.normal(0, 0.6, (n, len(names)))
    scale = rng.uniform(1, 200, len(names)) * np.where(np.isin(names, ["HallKierAlpha", "MinEStateIndex"]), -1, 1)
    ec1_logit = 0.9 + 0.9 * x[:, 0] - 0.8 * x[:, 5] + 0.6 * np.tanh(2 * x[:, 8]) + 0.4 * x[:, 2] * x[:, 3]
    ec2_logit = 1.3 + 0.35 * x[:, 1] - 0.3 * x[:, 10] ** 2 + 0.25 * x[:, 6] + 0.4 * ec1_logit / 2
    frame = pd.DataFrame({name: np.round(np.exp(0.35 * x[:, j]) * scale[j], 4)  # skewed, as descriptors are
                          for j, name in enumerate(names)})
    frame["EC1"] = (rng.random(n) < 1 / (1 + np.exp(-ec1_logit))).astype(int)
    frame["EC2"] = (rng.random(n) < 1 / (1 + np.exp(-ec2_logit))).astype(int)
    return frame, dict(metric="auc", id="id", targets=["EC1", "EC2"], kind="binary", sample=0.5)


COMPETITIONS: dict[str, Callable[[], tuple[pd.DataFrame, dict]]] = {
    "titanic_cars": _titanic_cars,
    "penguins_sex_auc": _penguins_sex_auc,
    "penguins_species": _penguins_species,
    "weather": _weather,
    "cars_mpg": _cars_mpg,
    "diabetes": _diabetes,
    "house_prices": _house_prices,
    "dated_15k": _dated_15k,
    "reg_40k": _reg_40k,
    "mixed_50k": _mixed_50k,
    "penguins_chinstrap_auc": _penguins_chinstrap_auc,
    "events_iso_auc": _events_iso_auc,
    "weather_map3": _weather_map3,
    "fertilizer_map3": _fertilizer_map3,
    "two_targets_auc": _two_targets_auc,
}


def make(name: str, folder: Path | str) -> dict:
    """Write competition `name` into `folder` (Kaggle layout under data/raw/) and return its spec."""
    return write(*COMPETITIONS[name](), folder)


def write(frame: pd.DataFrame, spec: dict, folder: Path | str) -> dict:
    """Write a competition's rows into `folder`: 75% as train.csv, 25% as test.csv (its answers
    in test_labels.csv), a sample submission; return the spec the benchmarks score it by."""
    folder = Path(folder)
    raw = folder / "data" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    targets, id_column = spec.get("targets") or [spec["target"]], spec["id"]
    frame = frame.sample(frac=1.0, random_state=SEED).reset_index(drop=True)
    stratify = None
    if spec["kind"] != "regression":  # on the target, or on the targets' combinations
        stratify = frame[targets[0]] if len(targets) == 1 else frame[targets].astype(str).agg(" ".join, axis=1)
    train, test = train_test_split(frame, test_size=0.25, random_state=SEED, stratify=stratify)
    train, test = train.copy(), test.copy()
    train.insert(0, id_column, np.arange(1, len(train) + 1))
    test.insert(0, id_column, np.arange(len(train) + 1, len(train) + len(test) + 1))
    train.to_csv(raw / "train.csv", index=False)
    test.drop(columns=targets).to_csv(raw / "test.csv", index=False)
    test[[id_column, *targets]].to_csv(folder / "test_labels.csv", index=False)

    sample = test[[id_column]].copy()
    classes = None
    if spec["metric"] == "logloss":
        classes = sorted(train[targets[0]].unique().tolist())
        for c in classes:
            sample[str(c)] = 1 / len(classes)
    else:
        for target in targets:
            sample[target] = (round(float(train[target].mean()), 4) if spec.get("sample") == "mean"
                              else spec["sample"])
    sample.to_csv(raw / "sample_submission.csv", index=False)
    return {"metric": spec["metric"], "id": id_column,
            "target": targets[0] if len(targets) == 1 else None, "targets": targets,
            "kind": spec["kind"], "classes": [str(c) for c in classes] if classes else None,
            "positive": spec.get("positive", 1 if spec["metric"] == "auc" else None),
            "rows": len(frame), "train_rows": len(train), "test_rows": len(test),
            "columns": frame.shape[1] - len(targets)}


def main(argv: list[str]) -> int:
    if argv[:1] == ["--list"] or not argv:
        for name in COMPETITIONS:
            print(name)
        return 0 if argv else 2
    if len(argv) != 2 or argv[0] not in COMPETITIONS:
        print(__doc__.split("\n\n")[2], file=sys.stderr)
        print(f"names: {', '.join(COMPETITIONS)}", file=sys.stderr)
        return 2
    spec = make(argv[0], argv[1])
    print(f"{argv[0]}: {spec['train_rows']} + {spec['test_rows']} rows, {spec['columns']} feature "
          f"columns, {spec['kind']}, {spec['metric']}, id {spec['id']}, target {' '.join(spec['targets'])} "
          f"-> {Path(argv[1]) / 'data' / 'raw'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
