-- Overview: articles per day with the 7-day rolling mean.
select day, articles, rolling_mean_7d from daily_volume order by day
