"""mercato.gateway"""
