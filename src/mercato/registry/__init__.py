"""mercato.registry"""
